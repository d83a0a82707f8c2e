// MARK: - ConnectionState

/// Everything one connection knows, and every way it can change: a value held in the
/// `Connection`'s `Mutex`. Transitions mutate it and return the `ConnectionAction`s to run
/// once the lock is released, so the state machine (keep-alive, pipelining, back-pressure,
/// timeouts, draining, closing) is tested without sockets, as the parser is.
///
/// Output is queued here and written by one writer at a time (see `nextOutput`): bytes
/// appended while a write is in flight go to `queued`, so the writer's buffer is never
/// mutated under it and no byte is copied twice.
struct ConnectionState {
    /// Queued work, in arrival order.
    enum Work {
        case request(ParsedRequest)
        case failure(HTTPParseError)
    }

    enum Lifecycle: Equatable {
        /// Reading requests and writing responses.
        case open
        /// The last response is being written; then the write side is shut down.
        case closingAfterFlush
        /// Write side shut down; discarding input until EOF or the deadline.
        case lingering(deadline: UInt64)
        case closed
    }

    /// What `readableEvent` tells the reader to do.
    enum ReadStep: Equatable {
        /// Read and parse while `canAcceptMore`, then call `readPassEnded`.
        case read
        /// Read and throw away (lingering after the write side was shut down).
        case discard
        /// Nothing to read now.
        case ignore
    }

    /// How a streamed body is being sent.
    struct StreamPlan: Sendable {
        let chunked: Bool
        let close: Bool
    }

    /// Bytes for the writer: `bytes[offset...]`. Shares storage with the state (no copy).
    struct PendingOutput: Sendable {
        let bytes: [UInt8]
        let offset: Int
    }

    /// Send-buffer size above which a streaming body's `write` waits.
    static let highWaterMark = 256 * 1024

    let config: HTTPServer.Configuration
    let admission: Connection.Admission
    let isSecure: Bool
    /// The server's request-memory budget (`Configuration.maxBufferedRequestBytes`).
    let budget: MemoryBudget
    /// When the connection was accepted: the first request's header timeout and the TLS
    /// handshake timeout run from here.
    let acceptedAt: UInt64

    var lifecycle = Lifecycle.open
    var parser: HTTPRequestParser
    var backlog: [Work] = []
    /// A handler (or an error response) owns the write side.
    var busy = false
    /// Bytes being written (from `sendingOffset`), and bytes queued behind them.
    var sending: [UInt8] = []
    var sendingOffset = 0
    var queued: [UInt8] = []
    /// A writer holds `sending` outside the lock.
    var writerActive = false
    /// The id of the last writer handed out; a writer with an older id takes nothing.
    var writer = 0
    /// The read source should be suspended.
    var readPaused = false
    /// The write source should be armed: the socket was full.
    var wantsWritable = false
    var peerClosed = false
    var continuePending = false
    var draining = false
    var phase = HTTPRequestParser.Phase.idle
    var phaseStart: UInt64
    var lastWriteProgress: UInt64
    var streamedBytes = 0
    var writeWaiters: [CheckedContinuation<Void, any Error>] = []
    /// Requests parsed so far; 0 means the client has not yet finished a request.
    var requestsParsed = 0
    /// Bytes reserved in `budget` for what this connection holds.
    var heldBytes = 0
    /// Body bytes of the request whose handler is running.
    var inFlightBodyBytes = 0
    /// The running handler, cancelled when the client goes away.
    var handlerTask: Task<Void, Never>?
    /// Which dispatch the running handler belongs to (`nil`: none runs).
    var runningHandler: Int?
    private var handlerGeneration = 0
    /// Set by the reader after each pass; always true without TLS.
    var tlsHandshakeComplete: Bool
    /// Actions collected by the transition in progress.
    private var pending: [ConnectionAction] = []

    init(config: HTTPServer.Configuration, admission: Connection.Admission = .normal, isSecure: Bool = false,
         budget: MemoryBudget, now: UInt64) {
        self.config = config
        self.admission = admission
        self.isSecure = isSecure
        self.budget = budget
        self.parser = HTTPRequestParser(limits: config.parserLimits)
        self.acceptedAt = now
        self.phaseStart = now
        self.lastWriteProgress = now
        self.tlsHandshakeComplete = !isSecure
    }

    /// Response bytes queued but not yet taken by the socket.
    var unsentBytes: Int { sending.count - sendingOffset + queued.count }

    /// Nothing left to write and no write in flight.
    var outputIdle: Bool { unsentBytes == 0 && !writerActive }

    /// Whether another request may be parsed and queued now: not while the backlog is full
    /// or the client has left more than `maxUnsentResponseBytes` of responses unread.
    var canAcceptMore: Bool {
        lifecycle == .open && !peerClosed && !parser.hasFailed && backlog.count < config.maxPipelinedRequests
            && unsentBytes <= config.maxUnsentResponseBytes
    }

    mutating func emit(_ action: ConnectionAction) { pending.append(action) }

    /// Hands over the actions collected so far; every public transition ends with it.
    mutating func takeActions() -> [ConnectionAction] {
        defer { pending.removeAll() }
        return pending
    }

    // MARK: - Reading

    /// A read readiness event arrived.
    mutating func readableEvent() -> ReadStep {
        switch lifecycle {
        case .closed: return .ignore
        case .lingering: return .discard
        case .closingAfterFlush:
            readPaused = true
            return .ignore
        case .open: return .read
        }
    }

    /// Bytes read from the client: parse what they complete.
    mutating func received(_ bytes: UnsafeRawBufferPointer, now: UInt64) -> [ConnectionAction] {
        guard lifecycle == .open else { return takeActions() }
        parser.append(bytes)
        parseAvailable(now: now)
        return takeActions()
    }

    /// [UInt8] convenience for tests.
    mutating func received(_ bytes: [UInt8], now: UInt64) -> [ConnectionAction] {
        bytes.withUnsafeBytes { received($0, now: now) }
    }

    /// The client closed its side (EOF): the running handler's result has no reader.
    mutating func inputEnded() -> [ConnectionAction] {
        peerClosed = true
        if let handlerTask { emit(.cancelHandler(handlerTask)) }
        return takeActions()
    }

    /// A read pass is over: reserve memory for what is held, pause reading when full, and
    /// start the next request.
    mutating func readPassEnded(now: UInt64, tlsHandshakeComplete: Bool = true) -> [ConnectionAction] {
        if isSecure { self.tlsHandshakeComplete = tlsHandshakeComplete }
        guard lifecycle == .open else { return takeActions() }
        guard reserveHeldBytes(now: now) else { return takeActions() }
        if !canAcceptMore { readPaused = true }
        notePhase(now)
        startNextIfIdle(now: now)
        return takeActions()
    }

    /// Pulls parsed events into the backlog until it is full or more bytes are needed.
    mutating func parseAvailable(now: UInt64) {
        while lifecycle == .open && !parser.hasFailed && backlog.count < config.maxPipelinedRequests {
            do throws(HTTPParseError) {
                guard let event = try parser.next() else { return }
                switch event {
                case .continueRequested:
                    if !busy && backlog.isEmpty {
                        enqueue(ResponseEncoder.continueResponse, now: now)
                        flush(now: now)
                    } else {
                        continuePending = true
                    }
                case .request(let request):
                    continuePending = false
                    requestsParsed += 1
                    backlog.append(.request(request))
                }
            } catch {
                backlog.append(.failure(error))
                return
            }
        }
    }

    /// Resumes reading once there is room again; bytes already buffered by the parser
    /// (or inside OpenSSL) are processed first because no readiness event will announce them.
    mutating func resumeReadingIfPossible(now: UInt64) {
        guard readPaused, canAcceptMore else { return }
        parseAvailable(now: now)
        guard canAcceptMore else { return }
        readPaused = false
        if isSecure { emit(.scheduleRead) }
    }

    mutating func notePhase(_ now: UInt64) {
        let current = parser.phase
        if current != phase {
            phase = current
            phaseStart = now
        }
    }

    // MARK: - Dispatching work

    /// Starts the next queued request if no handler is running.
    mutating func startNextIfIdle(now: UInt64) {
        guard lifecycle == .open, !busy else { return }
        // Responses the client has not read yet: wait for the writer to drain them.
        guard unsentBytes <= config.maxUnsentResponseBytes else { return }
        guard !backlog.isEmpty else {
            if continuePending && parser.phase == .body {
                continuePending = false
                enqueue(ResponseEncoder.continueResponse, now: now)
                flush(now: now)
                guard lifecycle == .open else { return }
            }
            if peerClosed || (draining && parser.phase == .idle) {
                if outputIdle { close() } else { lifecycle = .closingAfterFlush }
                return
            }
            resumeReadingIfPossible(now: now)
            return
        }
        let work = backlog.removeFirst()
        busy = true
        switch work {
        case .failure(let error):
            respondToFailure(error.httpError, target: parser.failedTarget, now: now)
        case .request(let parsed):
            inFlightBodyBytes = parsed.body.count
            resumeReadingIfPossible(now: now)
            if admission != .normal && !isProbe(parsed.head) {
                respondToFailure(HTTPError(.serviceUnavailable, "server is at its connection limit; retry later",
                                           headers: ["Retry-After": String(config.retryAfterSeconds)]),
                                 target: parsed.head.target, now: now)
                return
            }
            handlerGeneration += 1
            runningHandler = handlerGeneration
            emit(.dispatch(parsed, keepAlive: parsed.head.keepAlive && admission == .normal,
                           generation: handlerGeneration))
        }
    }

    /// The task running dispatch `generation` exists; returns whether to cancel it at once
    /// (the client left, or the connection closed, before it was recorded).
    mutating func handlerStarted(_ task: Task<Void, Never>, generation: Int) -> Bool {
        guard runningHandler == generation else { return lifecycle == .closed }
        handlerTask = task
        return peerClosed || lifecycle == .closed
    }

    /// Whether a request on an over-the-limit connection may be served: a GET or HEAD of
    /// one of `probePaths` (exact, query ignored), on a connection admitted to serve probes.
    func isProbe(_ head: HTTPRequestHead) -> Bool {
        guard admission == .overflow(servesProbes: true), head.method == .get || head.method == .head else { return false }
        let path = head.target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return config.probePaths.contains(String(path))
    }

    // MARK: - Errors the server answers itself

    /// Answers `error` and closes; `target` is the failed request's target when it is known.
    mutating func respondToFailure(_ error: HTTPError, target: String? = nil, now: UInt64) {
        backlog.removeAll()
        readPaused = true
        lifecycle = .closingAfterFlush
        appendErrorResponse(error, target: target, now: now)
        flush(now: now)
        emit(.logFailure(status: error.status.code))
    }

    mutating func appendErrorResponse(_ error: HTTPError, target: String? = nil, now: UInt64) {
        let response = error.response
        let body = config.errorBody?(target, error) ?? response.bodyBytes ?? []
        enqueue(ResponseEncoder.head(status: response.status, headers: response.headers, framing: .length(body.count),
                                     keepAlive: false, requestID: RequestID.generate(), serverName: config.serverName),
                now: now)
        enqueue(body, now: now)
    }

    /// Above `maxConnections`: answers 503 without reading the request, then closes.
    mutating func reject(retryAfter: Int, now: UInt64) -> [ConnectionAction] {
        let error = HTTPError(.serviceUnavailable, "server is at its connection limit; retry later",
                              headers: ["Retry-After": String(retryAfter)])
        busy = true
        readPaused = true
        lifecycle = .closingAfterFlush
        appendErrorResponse(error, now: now)
        flush(now: now)
        emit(.logFailure(status: 503))
        return takeActions()
    }

    // MARK: - Closing

    /// Ends a connection politely after its last response: shut down the write side and
    /// keep draining input for `lingerTimeout`, so unread request bytes do not make the
    /// kernel answer with RST and destroy the response before the client reads it.
    mutating func beginClose(now: UInt64) {
        guard lifecycle == .open || lifecycle == .closingAfterFlush else { return }
        if peerClosed {
            close()
            return
        }
        emit(.shutdownWrite)
        let linger = admission == .normal ? config.lingerTimeout : min(config.lingerTimeout, .seconds(1))
        lifecycle = .lingering(deadline: now &+ linger.nanoseconds)
        readPaused = false
    }

    /// Closes immediately. The `Connection` cancels its sources and closes the descriptor
    /// once they are gone.
    mutating func close() {
        guard lifecycle != .closed else { return }
        lifecycle = .closed
        backlog.removeAll()
        if let handlerTask { emit(.cancelHandler(handlerTask)) }
        handlerTask = nil
        releaseHeldBytes()
        wantsWritable = false
        if !writeWaiters.isEmpty {
            emit(.resumeWriters(writeWaiters, closed: true))
            writeWaiters.removeAll()
        }
        emit(.closed)
    }

    /// `close()` as a transition (read failure, forced close at the shutdown deadline).
    mutating func closeNow() -> [ConnectionAction] {
        close()
        return takeActions()
    }

    /// Server shutdown: idle connections close now, busy ones after their current response.
    mutating func beginDrain() -> [ConnectionAction] {
        draining = true
        if lifecycle == .open && !busy && backlog.isEmpty && parser.phase == .idle && outputIdle { close() }
        return takeActions()
    }

    /// Closes this probe-slot connection if it has not sent a complete request yet, to make
    /// room for a newer one (see `HTTPServer.admit`).
    mutating func evictIfSilent() -> [ConnectionAction] {
        if requestsParsed == 0 && !busy && lifecycle == .open { close() }
        return takeActions()
    }
}
