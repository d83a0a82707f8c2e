import Purification

/// Errors from certification; the service maps them to 4xx replies naming the parameter.
public enum CertificationError: Error, CustomStringConvertible, Equatable {
    /// A parameter out of range: its name and why.
    case invalidParameter(name: String, reason: String)
    /// The denoiser or the base classifier failed.
    case purification(PurificationError)
    /// The base classifier could not label a noisy sample (an upstream classifier's reply).
    case baseClassifier(String)
    /// Reading or writing a certification run's files.
    case io(String)

    public var description: String {
        switch self {
        case let .invalidParameter(name, reason): return "\(name) \(reason)"
        case .purification(let e): return e.description
        case .baseClassifier(let m): return "base classifier failed: \(m)"
        case .io(let m): return m
        }
    }
}
