import Synchronization

// MARK: - Answering without sockets

extension HTTPServer {

    /// Answers `request` exactly as a connection does once it has parsed one (router, then
    /// middleware and handler, errors mapped to JSON), but without a socket: for tests of
    /// routes and middleware, which then need no port, no I/O queues and no HTTP client.
    /// The server need not be started.
    ///
    /// What the connection adds on the wire is added here too: a request id (the incoming
    /// `X-Request-Id` when it is sane) echoed in `X-Request-Id`, `Content-Length`, and no
    /// body for HEAD or a bodiless status. A streamed body is collected into `.bytes`.
    /// - Throws: the error a streamed body's producer threw (on the wire, the connection
    ///   would be aborted after the head).
    public func respondInProcess(to request: HTTPRequest) async throws -> HTTPResponse {
        var request = request
        if request.requestID.isEmpty { request.requestID = RequestID.from(request.headers) }
        var response = await respond(to: request)
        var body: [UInt8]
        switch response.body {
        case .bytes(let bytes):
            body = bytes
        case .stream(let produce):
            let collected = Mutex<[UInt8]>([])
            try await produce(HTTPBodyWriter { chunk in collected.withLock { $0 += chunk } })
            body = collected.withLock { $0 }
        }
        for owned in ["Content-Length", "Transfer-Encoding", "Connection", "X-Request-Id"] {
            response.headers.remove(owned)
        }
        // As on the wire: HEAD announces the length of the body it does not send.
        if !response.status.forbidsBody { response.headers.add(name: "Content-Length", value: String(body.count)) }
        if request.method == .head || response.status.forbidsBody { body = [] }
        response.headers.add(name: "X-Request-Id", value: request.requestID)
        response.body = .bytes(body)
        return response
    }
}
