import Engine

/// g(x) = argmax_c P(f(x + δ) = c), δ ~ N(0, σ²I), with f a `BaseClassifier` (denoiser
/// included): Cohen, Rosenfeld & Kolter, ICML 2019. Draws the Monte Carlo samples as large
/// batches of noisy copies (`batchSize`), so each batch is a few big GEMMs for the engine.
///
/// All noise comes from the caller's `RandomSource`: a seeded one reproduces a certificate
/// exactly, `RandomSource.fresh()` gives new noise per call.
public struct SmoothedClassifier<Base: BaseClassifier>: Sendable {
    public let base: Base
    public let sigma: Float
    public let batchSize: Int

    /// - Parameters:
    ///   - sigma: the noise level σ > 0 (in pixel units of [0, 1] images).
    ///   - batchSize: noisy copies per forward pass.
    public init(base: Base, sigma: Float, batchSize: Int = 100) throws(CertificationError) {
        guard sigma.isFinite, sigma > 0 else { throw .invalidParameter(name: "sigma", reason: "must be a positive number, got \(sigma)") }
        guard batchSize > 0 else { throw .invalidParameter(name: "batch_size", reason: "must be positive, got \(batchSize)") }
        self.base = base
        self.sigma = sigma
        self.batchSize = batchSize
    }

    /// CERTIFY (Cohen et al., Algorithm 1): n0 samples choose ĉ_A, n fresh samples bound its
    /// probability; abstains when the bound is ≤ 1/2.
    /// - Parameter x: one image, `[H, W, C]` or `[1, H, W, C]`.
    public func certify(_ x: Tensor, n0: Int, n: Int, alpha: Double, rng: inout RandomSource) throws(CertificationError) -> Certificate {
        try Self.validate(n: n, n0: n0, alpha: alpha)
        let selection = try sampleCounts(x, count: n0, rng: &rng)
        let estimation = try sampleCounts(x, count: n, rng: &rng)
        return RandomizedSmoothing.certify(selectionCounts: selection, estimationCounts: estimation, alpha: alpha,
                                           sigma: Double(sigma))
    }

    /// PREDICT (Cohen et al., Algorithm 2): nil when the top two counts of n samples are too
    /// close for the binomial test at level α.
    public func predict(_ x: Tensor, n: Int, alpha: Double, rng: inout RandomSource) throws(CertificationError) -> Int? {
        try Self.validate(n: n, n0: 1, alpha: alpha)
        return RandomizedSmoothing.predict(counts: try sampleCounts(x, count: n, rng: &rng), alpha: alpha)
    }

    /// How often the base classifier gives each label on `count` noisy copies of `x`.
    public func sampleCounts(_ x: Tensor, count: Int, rng: inout RandomSource) throws(CertificationError) -> [Int] {
        let item = x.shape.count == 4 ? Array(x.shape.dropFirst()) : x.shape
        guard x.shape.count == 3 || (x.shape.count == 4 && x.shape[0] == 1) else {
            throw .invalidParameter(name: "image", reason: "must be one image [H, W, C] or [1, H, W, C], got \(x.shape)")
        }
        var counts = [Int](repeating: 0, count: base.classCount)
        var remaining = count
        while remaining > 0 {
            let b = min(batchSize, remaining)
            let batch = Self.noisyCopies(of: x.storage, shape: item, count: b, sigma: sigma, rng: &rng)
            for label in try base.labels(batch, rng: &rng) where (0..<counts.count).contains(label) { counts[label] += 1 }
            remaining -= b
        }
        return counts
    }

    /// `count` copies of one image plus independent N(0, σ²) noise, `[count] + shape`: no
    /// clipping, as in Cohen et al. Each copy's noise comes from its own generator split off
    /// `rng`, so the copies are filled in parallel and a seed gives the same noise whatever the
    /// number of cores. The noise is drawn with the ziggurat method (`RandomSource.fillNormal`,
    /// since issue 21 session 6; before, Box–Muller): same distribution, another stream, so a
    /// seed reproduces its counts but not the ones earlier versions gave.
    public static func noisyCopies(of image: [Float], shape: [Int], count: Int, sigma: Float,
                                   rng: inout RandomSource) -> Tensor {
        let size = image.count
        let generators = (0..<count).map { _ in rng.split() }
        // Not zero-filled first: every copy's values are written by `fillNormal`.
        let values = [Float](unsafeUninitializedCapacity: count * size) { buffer, initialized in
            initialized = count * size
            guard count * size > 0 else { return }
            let base = buffer.baseAddress!
            image.withUnsafeBufferPointer { pixels in
                let pixels = pixels.baseAddress!
                Parallel.forEachChunk(count: count, maxChunks: max(1, ComputeSettings.current.parallelism)) { range in
                    for copy in range {
                        var g = generators[copy]
                        g.fillNormal(base + copy * size, count: size, adding: pixels, scale: sigma)
                    }
                }
            }
        }
        return Tensor(shape: [count] + shape, storage: values)
    }

    static func validate(n: Int, n0: Int, alpha: Double) throws(CertificationError) {
        guard n >= 1 else { throw .invalidParameter(name: "n", reason: "must be a positive integer, got \(n)") }
        guard n0 >= 1 else { throw .invalidParameter(name: "n0", reason: "must be a positive integer, got \(n0)") }
        guard alpha > 0 && alpha < 1 else { throw .invalidParameter(name: "alpha", reason: "must be in (0, 1), got \(alpha)") }
    }
}
