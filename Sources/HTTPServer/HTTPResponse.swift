import Foundation

// MARK: - HTTPResponse

/// What a handler returns.
///
/// Framing headers (`Content-Length`, `Transfer-Encoding`, `Connection`, `Date`) are
/// owned by the server and overwritten when the response is written, so a handler can
/// never produce a response whose framing disagrees with its body.
public struct HTTPResponse: Sendable {
    public var status: HTTPStatus
    public var headers: HTTPHeaders
    public var body: Body

    /// A complete body, or one produced while it is being sent.
    public enum Body: Sendable {
        /// Sent with `Content-Length`.
        case bytes([UInt8])
        /// Sent with `Transfer-Encoding: chunked` (or close-delimited to HTTP/1.0 clients).
        /// The closure runs after the head is sent; each `write` is one chunk and waits
        /// while the client is slow to read, so memory stays bounded.
        case stream(@Sendable (HTTPBodyWriter) async throws -> Void)
    }

    public init(status: HTTPStatus = .ok, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = .bytes(body)
    }

    public init(status: HTTPStatus = .ok, headers: HTTPHeaders = HTTPHeaders(),
                stream: @escaping @Sendable (HTTPBodyWriter) async throws -> Void) {
        self.status = status
        self.headers = headers
        self.body = .stream(stream)
    }

    // MARK: - Conveniences

    /// A `text/plain; charset=utf-8` response.
    public static func text(_ text: String, status: HTTPStatus = .ok) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "text/plain; charset=utf-8"], body: Array(text.utf8))
    }

    /// An `application/json` response from already-encoded bytes.
    public static func json(encoded bytes: [UInt8], status: HTTPStatus = .ok) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: bytes)
    }

    /// An `application/json` response encoding `value` with `encoder`.
    public static func json<T: Encodable>(_ value: T, status: HTTPStatus = .ok,
                                          encoder: JSONEncoder = JSONEncoder()) throws -> HTTPResponse {
        let data = try encoder.encode(value)
        return .json(encoded: Array(data), status: status)
    }

    /// A streamed response whose chunks come from an async sequence of byte arrays.
    public static func stream<S: AsyncSequence & Sendable>(_ sequence: S, status: HTTPStatus = .ok,
                                                           headers: HTTPHeaders = HTTPHeaders()) -> HTTPResponse
    where S.Element == [UInt8] {
        HTTPResponse(status: status, headers: headers) { writer in
            for try await chunk in sequence { try await writer.write(chunk) }
        }
    }

    /// The body bytes when the body is not streamed.
    public var bodyBytes: [UInt8]? {
        if case .bytes(let bytes) = body { return bytes }
        return nil
    }
}

// MARK: - HTTPBodyWriter

/// Writes chunks of a streamed response body.
///
/// `write` suspends while the connection's send buffer is above its high-water mark,
/// and throws once the client has gone away, which is the streaming closure's cue to stop.
public struct HTTPBodyWriter: Sendable {
    let sink: @Sendable ([UInt8]) async throws -> Void

    public init(sink: @escaping @Sendable ([UInt8]) async throws -> Void) { self.sink = sink }

    public func write(_ bytes: [UInt8]) async throws {
        guard !bytes.isEmpty else { return }  // an empty chunk would end the body
        try await sink(bytes)
    }

    public func write(_ string: String) async throws { try await write(Array(string.utf8)) }
}
