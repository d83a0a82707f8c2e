#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - SocketError

/// A failed socket system call, with `errno` and its `strerror` text captured at the
/// throw site (before any other call can overwrite `errno`).
public struct SocketError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The call that failed, e.g. `"bind"`.
    public let operation: String
    /// The `errno` value, or 0 when the failure has no errno (address resolution).
    public let code: Int32
    /// Human-readable reason (`strerror` / `gai_strerror`).
    public let message: String

    public init(_ operation: String, code: Int32, message: String? = nil) {
        self.operation = operation
        self.code = code
        self.message = message ?? String(cString: strerror(code))
    }

    /// Captures the calling thread's current `errno`. Call it immediately after the failure.
    static func lastError(_ operation: String) -> SocketError {
        SocketError(operation, code: errno)
    }

    public var description: String {
        code == 0 ? "\(operation) failed: \(message)" : "\(operation) failed: \(message) (errno \(code))"
    }
}
