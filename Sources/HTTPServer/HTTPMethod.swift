// MARK: - HTTPMethod

/// A request method token (RFC 9110 §9).
///
/// Methods are case-sensitive, so `get` is *not* `GET`; the parser keeps the token
/// exactly as received and the router compares it verbatim.
public struct HTTPMethod: Sendable, Hashable, RawRepresentable, ExpressibleByStringLiteral,
    CustomStringConvertible
{
    public var rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }

    public var description: String { rawValue }

    public static let get = HTTPMethod("GET")
    public static let head = HTTPMethod("HEAD")
    public static let post = HTTPMethod("POST")
    public static let put = HTTPMethod("PUT")
    public static let patch = HTTPMethod("PATCH")
    public static let delete = HTTPMethod("DELETE")
    public static let options = HTTPMethod("OPTIONS")
}

// MARK: - HTTPVersion

/// The protocol version from the request line. Only major version 1 is accepted.
public struct HTTPVersion: Sendable, Hashable, CustomStringConvertible {
    public var major: Int
    public var minor: Int

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    public static let http1_0 = HTTPVersion(major: 1, minor: 0)
    public static let http1_1 = HTTPVersion(major: 1, minor: 1)

    /// HTTP/1.0 semantics (close by default, no chunked coding) apply to 1.0 only;
    /// any later 1.x minor is treated as 1.1 (RFC 9110 §2.5).
    public var isHTTP10: Bool { major == 1 && minor == 0 }

    public var description: String { "HTTP/\(major).\(minor)" }
}
