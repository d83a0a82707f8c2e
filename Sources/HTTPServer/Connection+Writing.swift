import Foundation

// MARK: - Writing responses

extension Connection {

    /// Writes a handler's response. Called from the handler's task; the state's lock is
    /// only taken inside `update`, never across a suspension point.
    func send(_ response: HTTPResponse, for request: HTTPRequest, keepAlive: Bool, started: UInt64) async {
        switch response.body {
        case .bytes(let body):
            let (sent, actions) = update {
                $0.respond(response, body: body, for: request, keepAlive: keepAlive, now: Self.now())
            }
            perform(actions)
            server.logAccess(request: request, status: response.status.code, bytes: sent, started: started,
                             remote: remoteAddress)
        case .stream(let produce):
            let (plan, actions) = update { $0.beginStream(response, for: request, keepAlive: keepAlive, now: Self.now()) }
            perform(actions)
            guard let plan else {
                server.logAccess(request: request, status: response.status.code, bytes: 0, started: started,
                                 remote: remoteAddress)
                return
            }
            let writer = HTTPBodyWriter { [self] chunk in try await writeBodyChunk(chunk, chunked: plan.chunked) }
            do {
                try await produce(writer)
                perform(update { $0.endStream(plan, now: Self.now()) })
            } catch {
                // The head is gone already, so the only honest signal left is to abort the
                // connection: the client sees a truncated body, not a success.
                server.logger.warning("streamed response body failed",
                                      metadata: ["error": "\(error)", "request_id": "\(request.requestID)"])
                perform(update { $0.closeNow() })
            }
            server.logAccess(request: request, status: response.status.code, bytes: update { $0.streamedBytes },
                             started: started, remote: remoteAddress)
        }
    }

    /// Queues one chunk, lets the writer run, and waits while the client is slow to read.
    private func writeBodyChunk(_ chunk: [UInt8], chunked: Bool) async throws {
        let (open, actions) = update { $0.appendChunk(chunk, chunked: chunked, now: Self.now()) }
        perform(actions)
        guard open else { throw ConnectionClosedError() }
        switch update({ $0.mustWaitForRoom }) {
        case nil: throw ConnectionClosedError()
        case false?: return
        case true?:
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                perform(update { $0.waitForRoom(continuation) })
            }
        }
    }
}
