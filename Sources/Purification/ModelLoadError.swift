/// Why a defended model could not be built from its files.
public enum ModelLoadError: Error, CustomStringConvertible, Equatable {
    /// No models folder was given or found.
    case noModelsFolder
    /// The classifier named in the spec is not in the models folder.
    case classifierMissing(model: String, classifier: String, directory: String)
    /// A file that exists (or was asked for by path) cannot be read: unreadable, bad JSON,
    /// wrong format, checksum or weights that do not fit the architecture.
    case unreadable(file: String, reason: String)
    /// A file holds another kind of network than its role needs.
    case wrongKind(model: String, file: String, expected: String)
    /// The purifier's VAE does not fit the classifier's input.
    case shapeMismatch(model: String, reason: String)

    public var description: String {
        switch self {
        case .noModelsFolder:
            return "no models folder found (set models.directory or VAEGUARD_MODELS)"
        case let .classifierMissing(model, classifier, directory):
            return "model '\(model)': classifier '\(classifier)' is not in \(directory)"
        case let .unreadable(file, reason):
            return "cannot load '\(file)': \(reason)"
        case let .wrongKind(model, file, expected):
            return "model '\(model)': '\(file)' is not a \(expected)"
        case let .shapeMismatch(model, reason):
            return "model '\(model)': \(reason)"
        }
    }
}
