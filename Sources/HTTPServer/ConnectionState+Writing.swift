// MARK: - Output queue and the writer

extension ConnectionState {

    /// Appends response bytes. The write timeout counts from when output starts waiting.
    mutating func enqueue(_ bytes: [UInt8], now: UInt64) {
        guard !bytes.isEmpty else { return }
        if unsentBytes == 0 { lastWriteProgress = now }
        queued += bytes
    }

    /// Asks for a writer when there is output and none is writing; with nothing to write,
    /// finishes what a drained buffer finishes (waiters, closing after the last response).
    mutating func flush(now: UInt64) {
        guard lifecycle != .closed, !writerActive else { return }
        if unsentBytes == 0 {
            outputDrained(now: now)
            return
        }
        writerActive = true
        writer += 1
        emit(.write(id: writer))
    }

    /// The writer's next bytes, or `nil` when it is done: the output is drained or the
    /// connection has closed. Only the writer calls this: the one `.write` was handed to,
    /// until `recordWrite` reports anything but bytes written.
    mutating func nextOutput(writer id: Int, now: UInt64) -> (PendingOutput?, [ConnectionAction]) {
        guard id == writer, writerActive else { return (nil, takeActions()) }
        guard lifecycle != .closed else {
            writerActive = false
            return (nil, takeActions())
        }
        if sendingOffset == sending.count {
            sending = queued
            queued = []
            sendingOffset = 0
        }
        if sending.isEmpty {
            writerActive = false
            outputDrained(now: now)
            return (nil, takeActions())
        }
        return (PendingOutput(bytes: sending, offset: sendingOffset), takeActions())
    }

    /// What a write of `nextOutput`'s bytes did. Anything but `.bytes` ends the writer.
    mutating func recordWrite(_ result: Socket.IOResult, now: UInt64) -> [ConnectionAction] {
        switch result {
        case .bytes(let n):
            sendingOffset += n
            lastWriteProgress = now
            // The client read some of what was waiting: the next pipelined request may start,
            // and reading (paused at `maxUnsentResponseBytes`) may resume.
            if lifecycle == .open && unsentBytes <= config.maxUnsentResponseBytes {
                if busy { resumeReadingIfPossible(now: now) } else { startNextIfIdle(now: now) }
            }
        case .wouldBlock:
            writerActive = false
            if lifecycle != .closed { wantsWritable = true }
        case .eof, .failed:
            writerActive = false
            close()
        }
        return takeActions()
    }

    /// The write source fired: the socket takes bytes again.
    mutating func socketWritable(now: UInt64) -> [ConnectionAction] {
        if lifecycle != .closed { flush(now: now) }
        return takeActions()
    }

    /// Everything queued has been written.
    private mutating func outputDrained(now: UInt64) {
        wantsWritable = false
        if !writeWaiters.isEmpty {
            emit(.resumeWriters(writeWaiters, closed: false))
            writeWaiters.removeAll()
        }
        if lifecycle == .closingAfterFlush { beginClose(now: now) }
    }

    // MARK: - Responses from handlers

    /// Queues head and body of a non-streamed response; returns the body bytes sent.
    mutating func respond(_ response: HTTPResponse, body: [UInt8], for request: HTTPRequest, keepAlive: Bool,
                          now: UInt64) -> (sent: Int, actions: [ConnectionAction]) {
        guard lifecycle == .open else { return (0, takeActions()) }
        let status = response.status
        let close = !keepAlive || draining
        let framing: ResponseEncoder.Framing = status.forbidsBody ? .none : .length(body.count)
        enqueue(ResponseEncoder.head(status: status, headers: response.headers, framing: framing,
                                     keepAlive: !close, requestID: request.requestID, serverName: config.serverName),
                now: now)
        let sendBody = request.method != .head && !status.forbidsBody
        if sendBody { enqueue(body, now: now) }
        flush(now: now)
        finishResponse(close: close, now: now)
        return (sendBody ? body.count : 0, takeActions())
    }

    /// Queues the head of a streamed response. The plan is `nil` when there is no body to
    /// stream (HEAD, 204, 304, or the connection is gone); the response is then complete.
    mutating func beginStream(_ response: HTTPResponse, for request: HTTPRequest, keepAlive: Bool,
                              now: UInt64) -> (plan: StreamPlan?, actions: [ConnectionAction]) {
        guard lifecycle == .open else { return (nil, takeActions()) }
        let status = response.status
        let http10 = request.version.isHTTP10
        let noBody = request.method == .head || status.forbidsBody
        let framing: ResponseEncoder.Framing = status.forbidsBody ? .none : (http10 ? .closeDelimited : .chunked)
        // HTTP/1.0 has no chunked coding: the body ends when the connection does.
        let close = !keepAlive || draining || (http10 && !noBody)
        enqueue(ResponseEncoder.head(status: status, headers: response.headers, framing: framing,
                                     keepAlive: !close, requestID: request.requestID, serverName: config.serverName),
                now: now)
        streamedBytes = 0
        flush(now: now)
        if noBody {
            finishResponse(close: close, now: now)
            return (nil, takeActions())
        }
        return (StreamPlan(chunked: !http10, close: close), takeActions())
    }

    /// Queues one body chunk; `false` when the connection is gone.
    mutating func appendChunk(_ chunk: [UInt8], chunked: Bool, now: UInt64) -> (open: Bool, actions: [ConnectionAction]) {
        guard lifecycle == .open else { return (false, takeActions()) }
        if unsentBytes == 0 { lastWriteProgress = now }
        if chunked { ResponseEncoder.appendChunk(chunk, to: &queued) } else { queued += chunk }
        streamedBytes += chunk.count
        flush(now: now)
        return (true, takeActions())
    }

    /// Back-pressure for a streamed body: `nil` when the writer may go on (resumed at once),
    /// else the continuation waits until the output has drained.
    mutating func waitForRoom(_ continuation: CheckedContinuation<Void, any Error>) -> [ConnectionAction] {
        if lifecycle == .closed {
            emit(.resumeWriters([continuation], closed: true))
        } else if unsentBytes <= Self.highWaterMark || outputIdle {
            emit(.resumeWriters([continuation], closed: false))
        } else {
            writeWaiters.append(continuation)
        }
        return takeActions()
    }

    /// Whether a streamed body must wait before its next chunk (`nil`: the connection is gone).
    var mustWaitForRoom: Bool? {
        guard lifecycle == .open else { return nil }
        return unsentBytes > Self.highWaterMark
    }

    /// Ends a streamed body (last chunk for chunked coding).
    mutating func endStream(_ plan: StreamPlan, now: UInt64) -> [ConnectionAction] {
        guard lifecycle == .open else { return takeActions() }
        if plan.chunked { enqueue(ResponseEncoder.lastChunk, now: now) }
        flush(now: now)
        finishResponse(close: plan.close, now: now)
        return takeActions()
    }

    /// Marks the current response complete and moves on to the next request or closes.
    mutating func finishResponse(close: Bool, now: UInt64) {
        busy = false
        requestCompleted()
        // A failed write may already have closed the connection; never resurrect it.
        guard lifecycle == .open else { return }
        phase = parser.phase
        phaseStart = now
        if close {
            lifecycle = .closingAfterFlush
            if outputIdle { beginClose(now: now) }
            return
        }
        startNextIfIdle(now: now)
    }
}
