/// Errors from building or running attacks and evaluation grids.
public enum AttackError: Error, CustomStringConvertible, Equatable {
    /// A command-line value (attack, defense, threat, ε list) could not be parsed.
    case invalidSpec(String)
    /// The defended model lacks a part the grid asks for (e.g. a VAE).
    case unavailable(String)
    /// Reading or writing the result files failed.
    case io(String)

    public var description: String {
        switch self {
        case .invalidSpec(let s): return "invalid specification: \(s)"
        case .unavailable(let s): return "unavailable: \(s)"
        case .io(let s): return "I/O error: \(s)"
        }
    }
}
