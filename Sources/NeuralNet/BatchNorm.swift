import Foundation
import Engine

/// Batch normalisation over every dimension but the last (channels), for NHWC feature maps
/// and `[N, features]` vectors alike.
///
/// Training: `y = γ · (x - μ_B) / sqrt(σ²_B + ε) + β` with batch statistics, and running
/// statistics updated as `r ← m·r + (1-m)·batch`. Inference: the running statistics, so the
/// layer is a fixed per-channel affine map (and its input gradient is `dy · γ / sqrt(r_var + ε)`).
public final class BatchNorm: Layer {
    public let channels: Int
    public let momentum: Float
    public let epsilon: Float
    public let gamma: Parameter
    public let beta: Parameter
    public let runningMean: Parameter
    public let runningVariance: Parameter

    public init(channels: Int, momentum: Float = 0.9, epsilon: Float = 1e-3, name: String) {
        self.channels = channels
        self.momentum = momentum
        self.epsilon = epsilon
        gamma = Parameter(name: "\(name).gamma", value: Tensor(shape: [channels], repeating: 1))
        beta = Parameter(name: "\(name).beta", value: Tensor(shape: [channels]))
        runningMean = Parameter(name: "\(name).running_mean", value: Tensor(shape: [channels]))
        runningVariance = Parameter(name: "\(name).running_var", value: Tensor(shape: [channels], repeating: 1))
    }

    public var parameters: [Parameter] { [gamma, beta] }
    public var buffers: [Parameter] { [runningMean, runningVariance] }
    public var spec: LayerSpec { .batchNorm(channels: channels, momentum: momentum, epsilon: epsilon) }

    public func outputShape(for s: [Int]) throws(NeuralNetError) -> [Int] {
        guard s.last == channels else {
            throw .shapeMismatch(what: "batchnorm input channels", expected: [channels], got: [s.last ?? 0])
        }
        return s
    }

    public func forward(_ x: Tensor, context: inout ForwardContext) -> (output: Tensor, cache: LayerCache) {
        let c = channels
        let rows = x.count / c
        var mean = [Float](repeating: 0, count: c)
        var invStd = [Float](repeating: 0, count: c)
        if context.training {
            let (sum, sumSq) = Self.channelSums(x.storage, rows: rows, channels: c)
            for j in 0..<c {
                let m = sum[j] / Double(rows)
                let v = max(0, sumSq[j] / Double(rows) - m * m)
                mean[j] = Float(m)
                invStd[j] = Float(1 / (v + Double(epsilon)).squareRoot())
                let unbiased = Float(rows > 1 ? v * Double(rows) / Double(rows - 1) : v)
                runningMean.value.storage[j] = momentum * runningMean.value.storage[j] + (1 - momentum) * Float(m)
                runningVariance.value.storage[j] = momentum * runningVariance.value.storage[j] + (1 - momentum) * unbiased
            }
        } else {
            (mean, invStd) = runningStatistics
        }
        // One pass into fresh storage (no copies of x first); x̂ only when backward needs it.
        // Rows are split over the cores (`elementwiseChunks`); each element is computed as before.
        let g = gamma.value.storage, b = beta.value.storage
        let n = x.count
        let chunks = Self.elementwiseChunks(count: n, rows: rows)
        var xhat: [Float] = []
        let y = [Float](unsafeUninitializedCapacity: n) { yp, initialized in
            let yBase = yp.baseAddress
            x.storage.withUnsafeBufferPointer { xp in
                let xBase = xp.baseAddress
                if context.recordsCache {
                    xhat = [Float](unsafeUninitializedCapacity: n) { xh, done in
                        let hBase = xh.baseAddress
                        mean.withUnsafeBufferPointer { m in invStd.withUnsafeBufferPointer { s in
                            g.withUnsafeBufferPointer { gp in b.withUnsafeBufferPointer { bp in
                                Parallel.forEachChunk(count: rows, maxChunks: chunks) { range in
                                    for r in range {
                                        let (xr, hr, yr) = (xBase! + r * c, hBase! + r * c, yBase! + r * c)
                                        for j in 0..<c {
                                            let v = (xr[j] - m[j]) * s[j]
                                            hr[j] = v
                                            yr[j] = gp[j] * v + bp[j]
                                        }
                                    }
                                }
                            } }
                        } }
                        done = n
                    }
                } else {
                    let affine = ChannelAffine(gamma: g, beta: b, mean: mean, invStd: invStd)
                    affine.scale.withUnsafeBufferPointer { scale in affine.shift.withUnsafeBufferPointer { shift in
                        Parallel.forEachChunk(count: rows, maxChunks: chunks) { range in
                            for r in range {
                                let (xr, yr) = (xBase! + r * c, yBase! + r * c)
                                for j in 0..<c { yr[j] = xr[j] * scale[j] + shift[j] }
                            }
                        }
                    } }
                }
            }
            initialized = n
        }
        let output = Tensor(shape: x.shape, storage: y)
        guard context.recordsCache else { return (output, .empty) }
        let modeFlag: [Int32] = [context.training ? 1 : 0]
        return (output, LayerCache([Tensor(shape: x.shape, storage: xhat), Tensor(shape: [c], storage: invStd)], indices: modeFlag))
    }

    /// Chunks for a pass over `count` floats in `rows` rows: one per core for maps of at least
    /// 64 K floats (a batch's feature map), inline for the small ones (batch-1 requests, tests).
    static func elementwiseChunks(count: Int, rows: Int) -> Int {
        Parallel.chunkCount(flops: Double(count) * 32, count: rows, maxChunks: ComputeSettings.current.parallelism)
    }

    /// Per-channel `Σx` and `Σx²` in double precision, over row chunks on the cores (each
    /// chunk's partial sums, then added in chunk order).
    static func channelSums(_ x: [Float], rows: Int, channels c: Int) -> (sum: [Double], sumSq: [Double]) {
        let chunks = elementwiseChunks(count: x.count, rows: rows)
        var partial = [Double](repeating: 0, count: 2 * chunks * c)
        x.withUnsafeBufferPointer { xp in
            partial.withUnsafeMutableBufferPointer { pp in
                let (xBase, pBase) = (xp.baseAddress, pp.baseAddress!)
                Parallel.forEachChunk(count: rows, maxChunks: chunks) { chunk, range in
                    let (sum, sumSq) = (pBase + 2 * chunk * c, pBase + (2 * chunk + 1) * c)
                    for r in range {
                        let xr = xBase! + r * c
                        for j in 0..<c { let v = Double(xr[j]); sum[j] += v; sumSq[j] += v * v }
                    }
                }
            }
        }
        var sum = Array(partial[0..<c]), sumSq = Array(partial[c..<(2 * c)])
        for chunk in 1..<max(1, chunks) {
            for j in 0..<c { sum[j] += partial[2 * chunk * c + j]; sumSq[j] += partial[(2 * chunk + 1) * c + j] }
        }
        return (sum, sumSq)
    }

    /// The running mean and `1 / sqrt(running variance + ε)`, per channel.
    private var runningStatistics: (mean: [Float], invStd: [Float]) {
        (runningMean.value.storage, runningVariance.value.storage.map { 1 / ($0 + epsilon).squareRoot() })
    }

    /// The inference map (running statistics) as `y = x·scale + shift`, computed as `forward`
    /// computes it without caches, so a convolution that applies it to its output blocks
    /// (`Sequential`'s conv → batch norm fusion) gives the same values bit for bit.
    var inferenceAffine: ChannelAffine {
        let (mean, invStd) = runningStatistics
        return ChannelAffine(gamma: gamma.value.storage, beta: beta.value.storage, mean: mean, invStd: invStd)
    }

    public func backward(_ dy: Tensor, cache: LayerCache, gradients: GradientStore?) -> Tensor {
        let c = channels
        let xhat = cache.tensors[0], invStd = cache.tensors[1].storage
        let training = cache.indices.first == 1
        let rows = dy.count / c
        let chunks = Self.elementwiseChunks(count: dy.count, rows: rows)
        // Σdy and Σdy·x̂ per channel: per-chunk float partial sums, added in chunk order.
        var partial = [Float](repeating: 0, count: 2 * chunks * c)
        dy.storage.withUnsafeBufferPointer { gp in
            xhat.storage.withUnsafeBufferPointer { xh in
                partial.withUnsafeMutableBufferPointer { pp in
                    let (gBase, hBase, pBase) = (gp.baseAddress, xh.baseAddress, pp.baseAddress!)
                    Parallel.forEachChunk(count: rows, maxChunks: chunks) { chunk, range in
                        let (sumDy, sumDyXhat) = (pBase + 2 * chunk * c, pBase + (2 * chunk + 1) * c)
                        for r in range {
                            let (gr, hr) = (gBase! + r * c, hBase! + r * c)
                            for j in 0..<c { sumDy[j] += gr[j]; sumDyXhat[j] += gr[j] * hr[j] }
                        }
                    }
                }
            }
        }
        var sumDy = Array(partial[0..<c]), sumDyXhat = Array(partial[c..<(2 * c)])
        for chunk in 1..<max(1, chunks) {
            for j in 0..<c { sumDy[j] += partial[2 * chunk * c + j]; sumDyXhat[j] += partial[(2 * chunk + 1) * c + j] }
        }
        gradients?.accumulate(Tensor(shape: [c], storage: sumDyXhat), for: gamma)
        gradients?.accumulate(Tensor(shape: [c], storage: sumDy), for: beta)
        // dx = a·dy + b + e·x̂ per channel. Training: a = γ·invStd, b = -γ·invStd·Σdy/M,
        // e = -γ·invStd·Σ(dy·x̂)/M. Inference (fixed affine map): a = γ·invStd, b = e = 0.
        let g = gamma.value.storage
        let m = Float(rows)
        let a = (0..<c).map { g[$0] * invStd[$0] }
        let bias = (0..<c).map { training ? -a[$0] * sumDy[$0] / m : 0 }
        let e = (0..<c).map { training ? -a[$0] * sumDyXhat[$0] / m : 0 }
        let out = [Float](unsafeUninitializedCapacity: dy.count) { d, initialized in
            let dBase = d.baseAddress
            dy.storage.withUnsafeBufferPointer { gp in
                xhat.storage.withUnsafeBufferPointer { xh in
                    a.withUnsafeBufferPointer { ap in bias.withUnsafeBufferPointer { bp in e.withUnsafeBufferPointer { ep in
                        let (gBase, hBase) = (gp.baseAddress, xh.baseAddress)
                        Parallel.forEachChunk(count: rows, maxChunks: chunks) { range in
                            for r in range {
                                let (dr, gr, hr) = (dBase! + r * c, gBase! + r * c, hBase! + r * c)
                                for j in 0..<c { dr[j] = ap[j] * gr[j] + bp[j] + ep[j] * hr[j] }
                            }
                        }
                    } } }
                }
            }
            initialized = dy.count
        }
        let dx = Tensor(shape: dy.shape, storage: out)
        return dx
    }
}
