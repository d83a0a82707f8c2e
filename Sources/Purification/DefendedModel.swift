import Foundation
import Engine
import NeuralNet

/// A classifier with the purifiers that defend it: the unit the service, the CLI and the
/// evaluation all use. Immutable and thread-safe.
public final class DefendedModel: Sendable {
    public let name: String
    public let version: String
    public let labels: [String]
    public let classifier: Sequential
    public let vae: VariationalAutoencoder?
    public let patchVAE: VariationalAutoencoder?
    /// Reconstruction-error score above which an input is flagged as suspected adversarial.
    public let threshold: Float
    /// Per-purifier thresholds where a purifier's scores live on another scale (the patch VAE
    /// reconstructs far more closely than the whole-image VAE); `threshold` otherwise.
    public let purifierThresholds: [PurifierKind: Float]
    /// The Gaussian noise level σ the classifier was trained for, the default of randomized
    /// smoothing (`certify=true`); nil when it was not trained with noise.
    public let smoothingSigma: Float?
    /// What the classifier was measured to withstand (its model file's `robustness`), for
    /// `GET /v1/models` and the model card.
    public let robustness: [RobustnessClaim]
    /// Its measured certified accuracy under randomized smoothing (its model file's
    /// `certification`), for `GET /v1/models` and the model card.
    public let certification: [CertificationClaim]

    public init(name: String, version: String, labels: [String], classifier: Sequential, vae: VariationalAutoencoder?,
                patchVAE: VariationalAutoencoder?, threshold: Float, purifierThresholds: [PurifierKind: Float] = [:],
                smoothingSigma: Float? = nil, robustness: [RobustnessClaim] = [], certification: [CertificationClaim] = []) {
        self.name = name
        self.version = version
        self.labels = labels
        self.classifier = classifier
        self.vae = vae
        self.patchVAE = patchVAE
        self.threshold = threshold
        self.purifierThresholds = purifierThresholds
        self.smoothingSigma = smoothingSigma
        self.robustness = robustness
        self.certification = certification
    }

    /// The flagging threshold for scores from `purifier`.
    public func threshold(for purifier: PurifierKind) -> Float { purifierThresholds[purifier] ?? threshold }

    /// The same model flagging at other thresholds: the evaluation loads models without any and
    /// applies the deployed configuration's when it measures the flag.
    public func withThresholds(_ threshold: Float, purifierThresholds: [PurifierKind: Float] = [:]) -> DefendedModel {
        DefendedModel(name: name, version: version, labels: labels, classifier: classifier, vae: vae, patchVAE: patchVAE,
                      threshold: threshold, purifierThresholds: purifierThresholds, smoothingSigma: smoothingSigma,
                      robustness: robustness, certification: certification)
    }

    /// `[H, W, C]` the classifier takes.
    public var inputShape: [Int] { classifier.inputShape }

    public var availablePurifiers: [PurifierKind] {
        [.none, .jpeg] + (vae != nil ? [.vae] : []) + (patchVAE != nil ? [.patchVAE] : [])
    }

    /// The purifier `options` asks for.
    public func purifier(for options: DefenseOptions) throws(PurificationError) -> any Purifier {
        try options.validate()
        switch options.purifier {
        case .none: return IdentityPurifier()
        case .jpeg: return try JPEGPurifier(quality: options.jpegQuality)
        case .vae:
            guard let vae else { throw .unavailable("model '\(name)' has no whole-image VAE") }
            return VAEPurifier(vae: vae, sampling: options.sampling)
        case .patchVAE:
            guard let patchVAE else { throw .unavailable("model '\(name)' has no patch VAE") }
            return try PatchVAEPurifier(vae: patchVAE, stride: options.patchStride, sampling: options.sampling)
        }
    }

    /// Purifies `images` (averaging K samples) and scores each image by its reconstruction
    /// error, the mean squared difference between input and purified image.
    public func purify(_ images: Tensor, options: DefenseOptions, rng: inout RandomSource) throws(PurificationError)
        -> (images: Tensor, scores: [Float]) {
        try purify(images, defense: ResolvedDefense(model: self, options: options), rng: &rng)
    }

    /// `purify(_:options:rng:)` with a defense resolved once by the caller.
    public func purify(_ images: Tensor, defense: ResolvedDefense, rng: inout RandomSource) throws(PurificationError)
        -> (images: Tensor, scores: [Float]) {
        let mean = try purifiedImages(images, defense: defense, rng: &rng)
        return (mean, Self.reconstructionErrors(images, mean))
    }

    /// The purified images of `purify(_:options:rng:)` without the scores (randomized
    /// smoothing's base classifier only needs the labels).
    public func purifiedImages(_ images: Tensor, options: DefenseOptions, rng: inout RandomSource) throws(PurificationError) -> Tensor {
        try purifiedImages(images, defense: ResolvedDefense(model: self, options: options), rng: &rng)
    }

    func purifiedImages(_ images: Tensor, defense: ResolvedDefense, rng: inout RandomSource) throws(PurificationError) -> Tensor {
        let purifier = defense.purifier, options = defense.options
        var mean = try purifier.purify(images, rng: &rng)
        if options.samples > 1 {
            for _ in 1..<options.samples {
                do { try WorkLimit.checkCurrent() } catch { throw .stopped(error) }
                mean.add(try purifier.purify(images, rng: &rng))
            }
            mean.scale(by: 1 / Float(options.samples))
        }
        return mean
    }

    /// One classified image.
    public struct Result: Sendable {
        public var probabilities: [Float]
        public var purified: Tensor
        public var reconstructionError: Float
        public var suspectedAdversarial: Bool
        /// Wall time of the batch this image was part of.
        public var purifyDuration: Duration
        public var classifyDuration: Duration
    }

    /// Purifies and classifies a batch `[N, H, W, C]` of classifier-sized images.
    public func classify(_ images: Tensor, options: DefenseOptions, rng: inout RandomSource) throws(PurificationError) -> [Result] {
        try checkInput(images)
        return try classify(images, defense: ResolvedDefense(model: self, options: options), rng: &rng)
    }

    /// `classify(_:options:rng:)` with a defense resolved once by the caller.
    public func classify(_ images: Tensor, defense: ResolvedDefense, rng: inout RandomSource) throws(PurificationError) -> [Result] {
        try checkInput(images)
        var context = ForwardContext.inference(seed: 0)
        let purifier = defense.purifier, options = defense.options
        let clock = ContinuousClock()
        let start = clock.now
        var purifyTime = Duration.zero
        var probabilities: Tensor
        var purified: Tensor
        if options.ensemble == .probabilities && options.samples > 1 {
            purified = try purifier.purify(images, rng: &rng)
            probabilities = Softmax.apply(classifier(purified, context: &context))
            for _ in 1..<options.samples {
                do { try WorkLimit.checkCurrent() } catch { throw .stopped(error) }
                let sample = try purifier.purify(images, rng: &rng)
                probabilities.add(Softmax.apply(classifier(sample, context: &context)))
                purified.add(sample)
            }
            probabilities.scale(by: 1 / Float(options.samples))
            purified.scale(by: 1 / Float(options.samples))
        } else {
            purified = try purify(images, defense: defense, rng: &rng).images
            purifyTime = clock.now - start
            probabilities = Softmax.apply(classifier(purified, context: &context))
        }
        let total = clock.now - start
        if purifyTime == .zero { purifyTime = total }   // interleaved ensemble: report it all as purification
        let scores = Self.reconstructionErrors(images, purified)
        let classes = probabilities.itemCount, size = images.itemCount
        return (0..<images.batchSize).map { b in
            Result(probabilities: Array(probabilities.storage[(b * classes)..<((b + 1) * classes)]),
                   purified: Tensor(shape: inputShape, storage: Array(purified.storage[(b * size)..<((b + 1) * size)])),
                   reconstructionError: scores[b], suspectedAdversarial: scores[b] > threshold(for: options.purifier),
                   purifyDuration: purifyTime, classifyDuration: total - purifyTime)
        }
    }

    /// Images must be `[N] + inputShape`.
    private func checkInput(_ images: Tensor) throws(PurificationError) {
        guard Array(images.shape.dropFirst()) == inputShape else {
            throw .shapeMismatch(expected: inputShape, got: Array(images.shape.dropFirst()))
        }
    }

    /// Per-image mean squared difference.
    public static func reconstructionErrors(_ a: Tensor, _ b: Tensor) -> [Float] {
        let size = a.itemCount
        return (0..<a.batchSize).map { n in
            var s: Float = 0
            for i in (n * size)..<((n + 1) * size) { let d = a.storage[i] - b.storage[i]; s += d * d }
            return s / Float(size)
        }
    }
}
