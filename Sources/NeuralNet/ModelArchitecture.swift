/// The architecture JSON that sits beside a model's safetensors file.
///
/// It names the model, its version, what it is (classifier or VAE), its input shape and
/// labels, its layers, the weights file and that file's SHA-256, plus free-form training
/// metadata (command, epochs, metrics) for the model card.
public struct ModelArchitecture: Codable, Equatable, Sendable {
    public static let formatName = "vaeguard-model"
    public static let currentFormatVersion = 1

    public enum Kind: String, Codable, Sendable { case classifier, vae }

    public var format: String = ModelArchitecture.formatName
    public var formatVersion: Int = ModelArchitecture.currentFormatVersion
    public var name: String
    public var version: String
    public var kind: Kind
    /// One item's shape, NHWC without the batch: `[28, 28, 1]`.
    public var inputShape: [Int]
    /// Class names, index order (classifiers).
    public var labels: [String]?
    /// Classifier layers.
    public var layers: [LayerSpec]?
    /// VAE parts: encoder layers (ending in a flat feature vector), latent size, decoder layers
    /// (starting from the latent vector).
    public var encoder: [LayerSpec]?
    public var latentDimension: Int?
    public var decoder: [LayerSpec]?
    /// File name of the weights, relative to the architecture file.
    public var weights: String
    /// SHA-256 of the weights file (hex); checked on load.
    public var sha256: String?
    /// Storage precision of the weights file ("F32" or "F16").
    public var storage: String?
    /// Training facts for the model card (command, epochs, wall time, metrics).
    public var metadata: [String: String]?
    /// Measured robustness (classifiers evaluated with `vaeguard evaluate --suite strong`).
    public var robustness: [RobustnessClaim]?
    /// Measured certified accuracy under randomized smoothing (`vaeguard evaluate certify`).
    public var certification: [CertificationClaim]?

    public init(name: String, version: String, kind: Kind, inputShape: [Int], labels: [String]? = nil,
                layers: [LayerSpec]? = nil, encoder: [LayerSpec]? = nil, latentDimension: Int? = nil,
                decoder: [LayerSpec]? = nil, weights: String, sha256: String? = nil, storage: String? = nil,
                metadata: [String: String]? = nil, robustness: [RobustnessClaim]? = nil,
                certification: [CertificationClaim]? = nil) {
        self.name = name
        self.version = version
        self.kind = kind
        self.inputShape = inputShape
        self.labels = labels
        self.layers = layers
        self.encoder = encoder
        self.latentDimension = latentDimension
        self.decoder = decoder
        self.weights = weights
        self.sha256 = sha256
        self.storage = storage
        self.metadata = metadata
        self.robustness = robustness
        self.certification = certification
    }
}
