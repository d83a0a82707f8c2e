import Dispatch
import Foundation

// MARK: - Writing responses

extension Connection {

    /// Writes a handler's response. Called from the handler's task; the lock is only
    /// taken inside the synchronous helpers, never across a suspension point.
    func send(_ response: HTTPResponse, for request: HTTPRequest, keepAlive: Bool, started: UInt64) async {
        switch response.body {
        case .bytes(let body):
            let sent = writeComplete(response, body: body, for: request, keepAlive: keepAlive)
            server.logAccess(request: request, status: response.status.code, bytes: sent, started: started,
                             remote: remoteAddress)
        case .stream(let produce):
            guard let plan = beginStream(response, for: request, keepAlive: keepAlive) else {
                server.logAccess(request: request, status: response.status.code, bytes: 0, started: started,
                                 remote: remoteAddress)
                return
            }
            let writer = HTTPBodyWriter { [self] chunk in try await writeBodyChunk(chunk, chunked: plan.chunked) }
            do {
                try await produce(writer)
                endStream(plan)
            } catch {
                // The head is gone already, so the only honest signal left is to abort the
                // connection: the client sees a truncated body, not a success.
                server.logger.warning("streamed response body failed",
                                      metadata: ["error": "\(error)", "request_id": "\(request.requestID)"])
                abort()
            }
            server.logAccess(request: request, status: response.status.code, bytes: streamedByteCount(),
                             started: started, remote: remoteAddress)
        }
    }

    /// How a streamed body is being sent.
    struct StreamPlan: Sendable {
        let chunked: Bool
        let close: Bool
    }

    /// Writes head and body of a non-streamed response; returns the body bytes sent.
    private func writeComplete(_ response: HTTPResponse, body: [UInt8], for request: HTTPRequest,
                               keepAlive: Bool) -> Int {
        lock.lock()
        defer { lock.unlock() }
        guard lifecycle == .open else { return 0 }
        let status = response.status
        let close = !keepAlive || draining
        let framing: ResponseEncoder.Framing = status.forbidsBody ? .none : .length(body.count)
        out += ResponseEncoder.head(status: status, headers: response.headers, framing: framing,
                                    keepAlive: !close, requestID: request.requestID, serverName: config.serverName)
        let sendBody = request.method != .head && !status.forbidsBody
        if sendBody { out += body }
        flush()
        finishResponse(close: close)
        return sendBody ? body.count : 0
    }

    /// Writes the head of a streamed response. Returns `nil` when there is no body to
    /// stream (HEAD, 204, 304, or the connection is gone); the response is then complete.
    private func beginStream(_ response: HTTPResponse, for request: HTTPRequest, keepAlive: Bool) -> StreamPlan? {
        lock.lock()
        defer { lock.unlock() }
        guard lifecycle == .open else { return nil }
        let status = response.status
        let http10 = request.version.isHTTP10
        let noBody = request.method == .head || status.forbidsBody
        let framing: ResponseEncoder.Framing = status.forbidsBody ? .none : (http10 ? .closeDelimited : .chunked)
        // HTTP/1.0 has no chunked coding: the body ends when the connection does.
        let close = !keepAlive || draining || (http10 && !noBody)
        out += ResponseEncoder.head(status: status, headers: response.headers, framing: framing,
                                    keepAlive: !close, requestID: request.requestID, serverName: config.serverName)
        streamedBytes = 0
        flush()
        if noBody {
            finishResponse(close: close)
            return nil
        }
        return StreamPlan(chunked: !http10, close: close)
    }

    private func endStream(_ plan: StreamPlan) {
        lock.lock()
        defer { lock.unlock() }
        guard lifecycle == .open else { return }
        if plan.chunked { out += ResponseEncoder.lastChunk }
        flush()
        finishResponse(close: plan.close)
    }

    private func abort() {
        lock.lock()
        closeNow()
        lock.unlock()
    }

    private func streamedByteCount() -> Int {
        lock.lock()
        defer { lock.unlock() }
        return streamedBytes
    }

    /// Appends one chunk and waits while the client is slow to read.
    private func writeBodyChunk(_ chunk: [UInt8], chunked: Bool) async throws {
        switch appendChunk(chunk, chunked: chunked) {
        case .closed: throw ConnectionClosedError()
        case .written: return
        case .mustWait:
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                registerWriteWaiter(continuation)
            }
        }
    }

    private enum ChunkOutcome { case written, mustWait, closed }

    private func appendChunk(_ chunk: [UInt8], chunked: Bool) -> ChunkOutcome {
        lock.lock()
        defer { lock.unlock() }
        guard lifecycle == .open else { return .closed }
        if chunked { ResponseEncoder.appendChunk(chunk, to: &out) } else { out += chunk }
        streamedBytes += chunk.count
        flush()
        if lifecycle != .open { return .closed }
        return out.count - outOffset > Self.highWaterMark ? .mustWait : .written
    }

    private func registerWriteWaiter(_ continuation: CheckedContinuation<Void, any Error>) {
        lock.lock()
        defer { lock.unlock() }
        if lifecycle == .closed {
            continuation.resume(throwing: ConnectionClosedError())
        } else if outOffset == out.count {
            continuation.resume()
        } else {
            writeWaiters.append(continuation)
        }
    }

    /// Marks the current response complete and moves on to the next request or closes.
    func finishResponse(close: Bool) {
        busy = false
        requestCompleted()
        // A failed write may already have closed the connection; never resurrect it.
        guard lifecycle == .open else { return }
        phase = parser.phase
        phaseStart = Self.now()
        if close {
            lifecycle = .closingAfterFlush
            if outOffset == out.count { beginClose() }
            return
        }
        startNextIfIdle()
    }

    // MARK: - Flushing

    /// Writes as much of `out` as the socket takes; arms the write source for the rest.
    func flush() {
        guard lifecycle != .closed else { return }
        while outOffset < out.count {
            let result = out.withUnsafeBytes { raw -> Socket.IOResult in
                let pending = UnsafeRawBufferPointer(rebasing: raw[outOffset...])
                return tls?.write(pending) ?? socket.write(pending)
            }
            switch result {
            case .bytes(let n):
                outOffset += n
                lastWriteProgress = Self.now()
            case .wouldBlock:
                armWriteSource()
                return
            case .eof, .failed:
                closeNow()
                return
            }
        }
        if out.capacity > 1 << 20 { out = [] } else { out.removeAll(keepingCapacity: true) }
        outOffset = 0
        disarmWriteSource()
        if !writeWaiters.isEmpty {
            let waiters = writeWaiters
            writeWaiters.removeAll()
            for waiter in waiters { waiter.resume() }
        }
        if lifecycle == .closingAfterFlush { beginClose() }
    }

    private func onWritable() {
        lock.lock()
        if lifecycle != .closed { flush() }
        // The client read some of what was waiting: the next pipelined request may start,
        // and reading (paused at `maxUnsentResponseBytes`) may resume.
        if lifecycle == .open && unsentBytes <= config.maxUnsentResponseBytes {
            if busy { resumeReadingIfPossible() } else { startNextIfIdle() }
        }
        lock.unlock()
    }

    private func armWriteSource() {
        if writeSource == nil {
            let source = DispatchSource.makeWriteSource(fileDescriptor: socket.fd, queue: loop.queue)
            source.setEventHandler { [self] in onWritable() }
            source.setCancelHandler { [self] in sourceCancelled() }
            writeSource = source
            liveSources += 1
            writeSuspended = true
        }
        if writeSuspended, let writeSource {
            writeSuspended = false
            writeSource.resume()
        }
    }

    private func disarmWriteSource() {
        guard !writeSuspended, let writeSource else { return }
        writeSuspended = true
        writeSource.suspend()
    }
}
