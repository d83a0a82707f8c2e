import Foundation

/// What to load for one defended model: its classifier and the VAE files of its purifiers,
/// each by name from the models folder or by path, and the thresholds that flag inputs.
public struct ModelSpec: Sendable, Equatable {
    /// Where one model file comes from.
    public enum Source: Sendable, Equatable, CustomStringConvertible {
        /// The model of that architecture name in the models folder (`NAME.json`); when it
        /// is absent the loader reports it missing.
        case named(String)
        /// An architecture file given by path; when it is absent loading fails, since
        /// someone asked for this very file.
        case file(URL)

        public var description: String {
            switch self {
            case .named(let name): return name
            case .file(let url): return url.path
            }
        }
    }

    /// The name the model is served and reported under; nil takes the classifier's
    /// architecture name.
    public var name: String?
    public var classifier: Source
    public var vae: Source?
    public var patchVAE: Source?
    /// Reconstruction error above which an input is flagged (`DefendedModel.threshold`).
    public var threshold: Float
    public var purifierThresholds: [PurifierKind: Float]

    public init(name: String? = nil, classifier: Source, vae: Source? = nil, patchVAE: Source? = nil,
                threshold: Float = .infinity, purifierThresholds: [PurifierKind: Float] = [:]) {
        self.name = name
        self.classifier = classifier
        self.vae = vae
        self.patchVAE = patchVAE
        self.threshold = threshold
        self.purifierThresholds = purifierThresholds
    }
}
