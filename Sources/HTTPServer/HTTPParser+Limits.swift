// MARK: - HTTPParserLimits

/// Size limits the parser enforces *while* reading, so that no input can make it
/// buffer more than `maxHeaderBytes + maxBodyBytes` for one request.
public struct HTTPParserLimits: Sendable, Hashable {
    /// Longest request line before answering 414.
    public var maxRequestLineBytes: Int = 8 * 1024
    /// Largest header section (request line + fields + final CRLF) before 431.
    /// Also bounds the trailer section of a chunked body.
    public var maxHeaderBytes: Int = 16 * 1024
    /// Most header fields before 431.
    public var maxHeaderCount: Int = 100
    /// Largest body, checked against `Content-Length` before any body byte is read
    /// and against the running total of chunk sizes before each chunk (413).
    public var maxBodyBytes: Int = 16 * 1024 * 1024
    /// Longest chunk-size line including extensions.
    public var maxChunkLineBytes: Int = 4 * 1024

    public init() {}

    public init(maxRequestLineBytes: Int = 8 * 1024, maxHeaderBytes: Int = 16 * 1024,
                maxHeaderCount: Int = 100, maxBodyBytes: Int = 16 * 1024 * 1024,
                maxChunkLineBytes: Int = 4 * 1024) {
        self.maxRequestLineBytes = maxRequestLineBytes
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxBodyBytes = maxBodyBytes
        self.maxChunkLineBytes = maxChunkLineBytes
    }
}

// MARK: - Parsed output

/// The request line and header section of one request, validated.
public struct HTTPRequestHead: Sendable {
    public var method: HTTPMethod
    /// The request-target exactly as received (origin-, absolute- or asterisk-form).
    public var target: String
    public var version: HTTPVersion
    public var headers: HTTPHeaders
    /// Whether the connection may be reused after this request (RFC 9112 §9.3).
    public var keepAlive: Bool
    /// `Expect: 100-continue` on an HTTP/1.1 request.
    public var expectsContinue: Bool
    /// How the body is delimited.
    public var framing: Framing

    public enum Framing: Sendable, Equatable {
        case none
        case contentLength(Int)
        case chunked
    }
}

/// One complete request as produced by `HTTPRequestParser`.
public struct ParsedRequest: Sendable {
    public var head: HTTPRequestHead
    public var body: [UInt8]
    /// Trailer fields of a chunked body; kept apart from `head.headers` on purpose
    /// (RFC 9110 §6.5.1: trailers must not be merged blindly).
    public var trailers: HTTPHeaders
}

/// What the parser yields as bytes arrive.
public enum HTTPParserEvent: Sendable {
    /// The head of a request with `Expect: 100-continue` was read and none of its
    /// body has arrived yet: the server should send `100 Continue` (or a final error).
    case continueRequested(HTTPRequestHead)
    /// A complete request, in arrival order.
    case request(ParsedRequest)
}
