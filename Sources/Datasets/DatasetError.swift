/// Errors reading dataset files; messages name the file.
public enum DatasetError: Error, CustomStringConvertible {
    case notFound(String)
    case unreadable(path: String, reason: String)
    case badFormat(path: String, reason: String)
    case unknownDataset(String)

    public var description: String {
        switch self {
        case .notFound(let what): return "dataset not found: \(what)"
        case let .unreadable(path, reason): return "\(path): cannot read (\(reason))"
        case let .badFormat(path, reason): return "\(path): \(reason)"
        case .unknownDataset(let name): return "unknown dataset '\(name)' (known: mnist, cifar10)"
        }
    }
}
