// MARK: - HTTPParseError

/// Why a byte stream is not an acceptable HTTP/1.1 request.
///
/// Every case maps to the status the server answers with; the connection is always
/// closed afterwards because, once framing is in doubt, nothing after the error can be
/// trusted to start a new request (that is how request smuggling is made impossible).
/// Messages are fixed strings: attacker-supplied bytes are never echoed back.
public enum HTTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The request line is not `method SP request-target SP HTTP-version`.
    case invalidRequestLine(String)
    /// The request line is longer than `maxRequestLineBytes` (414).
    case requestLineTooLong(limit: Int)
    /// A syntactically valid version other than HTTP/1.x (505).
    case unsupportedVersion
    /// The header section is larger than `maxHeaderBytes` (431).
    case headerSectionTooLarge(limit: Int)
    /// More header fields than `maxHeaderCount` (431).
    case tooManyHeaders(limit: Int)
    /// A header line that breaks RFC 9112 §5 (bad name, whitespace before colon, CTLs).
    case invalidHeader(String)
    /// A header line starting with whitespace (obs-fold, RFC 9112 §5.2).
    case obsoleteLineFolding
    /// A line ending in bare LF or containing a bare CR (RFC 9112 §2.2, strict mode).
    case invalidLineEnding
    /// Missing or repeated `Host` in an HTTP/1.1 request (RFC 9112 §3.2).
    case invalidHost(String)
    /// Both `Content-Length` and `Transfer-Encoding`, or differing `Content-Length`s.
    case ambiguousFraming(String)
    /// A `Content-Length` value that is not 1*DIGIT.
    case invalidContentLength
    /// `Transfer-Encoding` whose final coding is not `chunked`, or otherwise malformed.
    case invalidTransferEncoding(String)
    /// A transfer coding other than `chunked` (501, RFC 9112 §6.1).
    case unsupportedTransferEncoding
    /// A malformed chunk-size line, chunk terminator or trailer.
    case invalidChunk(String)
    /// The declared or running body size exceeds `maxBodyBytes` (413).
    case bodyTooLarge(limit: Int)
    /// An `Expect` value other than `100-continue` (417).
    case expectationFailed

    /// The status code the server answers this error with.
    public var status: HTTPStatus {
        switch self {
        case .requestLineTooLong: .uriTooLong
        case .unsupportedVersion: .httpVersionNotSupported
        case .headerSectionTooLarge, .tooManyHeaders: .requestHeaderFieldsTooLarge
        case .bodyTooLarge: .contentTooLarge
        case .unsupportedTransferEncoding: .notImplemented
        case .expectationFailed: .expectationFailed
        default: .badRequest
        }
    }

    public var description: String {
        switch self {
        case .invalidRequestLine(let why): "invalid request line: \(why)"
        case .requestLineTooLong(let limit): "request line longer than \(limit) bytes"
        case .unsupportedVersion: "HTTP version not supported; only HTTP/1.0 and HTTP/1.1 are"
        case .headerSectionTooLarge(let limit): "header section larger than \(limit) bytes"
        case .tooManyHeaders(let limit): "more than \(limit) header fields"
        case .invalidHeader(let why): "invalid header field: \(why)"
        case .obsoleteLineFolding: "obsolete line folding (obs-fold) is not accepted"
        case .invalidLineEnding: "lines must end in CRLF; bare LF or CR is not accepted"
        case .invalidHost(let why): "invalid Host: \(why)"
        case .ambiguousFraming(let why): "ambiguous message framing: \(why)"
        case .invalidContentLength: "invalid Content-Length value"
        case .invalidTransferEncoding(let why): "invalid Transfer-Encoding: \(why)"
        case .unsupportedTransferEncoding: "only the chunked transfer coding is supported"
        case .invalidChunk(let why): "invalid chunked body: \(why)"
        case .bodyTooLarge(let limit): "request body larger than \(limit) bytes"
        case .expectationFailed: "only 'Expect: 100-continue' is supported"
        }
    }
}
