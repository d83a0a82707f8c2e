import NeuralNet

/// How one request wants to be defended: which purifier, how many samples, and how they are
/// combined. Validated once (`validate`) so the service can answer bad values with a 400.
public struct DefenseOptions: Sendable, Equatable {
    /// K-sample ensembles: average the K purified images, or classify each and average the
    /// K probability vectors.
    public enum Ensemble: String, Sendable, CaseIterable, Codable {
        case reconstructions, probabilities
    }

    public var purifier: PurifierKind
    public var samples: Int
    public var ensemble: Ensemble
    public var sampling: VariationalAutoencoder.Sampling
    public var jpegQuality: Int
    public var patchStride: Int?
    /// Fixed seed for reproducible output; nil draws fresh randomness per request (the
    /// paper's randomised defense).
    public var seed: UInt64?

    public static let maxSamples = 64

    public init(purifier: PurifierKind = .vae, samples: Int = 1, ensemble: Ensemble = .reconstructions,
                sampling: VariationalAutoencoder.Sampling = .sample, jpegQuality: Int = 23, patchStride: Int? = nil,
                seed: UInt64? = nil) {
        self.purifier = purifier
        self.samples = samples
        self.ensemble = ensemble
        self.sampling = sampling
        self.jpegQuality = jpegQuality
        self.patchStride = patchStride
        self.seed = seed
    }

    public func validate() throws(PurificationError) {
        guard (1...Self.maxSamples).contains(samples) else {
            throw .invalidOption("samples must be in 1…\(Self.maxSamples), got \(samples)")
        }
        guard (1...100).contains(jpegQuality) else { throw .invalidOption("quality must be in 1…100, got \(jpegQuality)") }
        if let s = patchStride, s < 1 { throw .invalidOption("stride must be ≥ 1, got \(s)") }
    }

    /// The settings a reply reports, beside the purifier's own.
    public var reported: [String: String] {
        var r = ["samples": String(samples), "seed": seed.map(String.init) ?? "fresh"]
        if samples > 1 { r["ensemble"] = ensemble.rawValue }
        return r
    }
}
