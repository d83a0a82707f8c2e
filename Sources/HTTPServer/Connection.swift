import Dispatch
import Foundation
import Logging

// MARK: - Connection

/// One accepted client connection: reads and parses on its I/O queue, runs one handler
/// at a time on Swift's cooperative pool, and writes responses in request order.
///
/// Concurrency model: every mutable property below is guarded by `lock`. Dispatch
/// source handlers (on the connection's serial I/O queue) and handler tasks (on the
/// cooperative pool) both take it, so the class is `@unchecked Sendable` by
/// construction rather than by luck. The lock is never held across an `await`, and the
/// server never holds its own lock while calling into a connection (lock order:
/// connection, then server).
final class Connection: @unchecked Sendable {
    let id: Int
    let socket: Socket
    let remoteAddress: String
    let admission: Admission
    let server: HTTPServer
    let loop: IOLoop
    let config: HTTPServer.Configuration
    let lock = NSLock()

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

    // MARK: State (guarded by `lock`)

    var tls: TLSSession?
    var parser: HTTPRequestParser
    var backlog: [Work] = []
    /// A handler (or an error response) owns the write side.
    var busy = false
    var out: [UInt8] = []
    var outOffset = 0
    var readSource: (any DispatchSourceRead)?
    var writeSource: (any DispatchSourceWrite)?
    var readSuspended = false
    var writeSuspended = true
    var liveSources = 0
    var descriptorReleased = false
    var lifecycle = Lifecycle.open
    var peerClosed = false
    var continuePending = false
    var draining = false
    var phase = HTTPRequestParser.Phase.idle
    var phaseStart: UInt64
    var lastWriteProgress: UInt64
    var streamedBytes = 0
    var writeWaiters: [CheckedContinuation<Void, any Error>] = []
    /// When the connection was accepted: the first request's header timeout and the TLS
    /// handshake timeout run from here.
    let acceptedAt: UInt64
    /// Requests parsed so far; 0 means the client has not yet finished a request.
    var requestsParsed = 0
    /// Bytes reserved in the server's request-memory budget for what this connection holds.
    var heldBytes = 0
    /// Body bytes of the request whose handler is running.
    var inFlightBodyBytes = 0
    /// The running handler, cancelled when the client goes away.
    var handlerTask: Task<Void, Never>?

    /// Send-buffer size above which a streaming body's `write` waits.
    static let highWaterMark = 256 * 1024

    init(id: Int, socket: Socket, remoteAddress: String, tls: TLSSession?, server: HTTPServer, loop: IOLoop,
         admission: Admission = .normal) {
        self.id = id
        self.socket = socket
        self.remoteAddress = remoteAddress
        self.tls = tls
        self.server = server
        self.loop = loop
        self.config = server.configuration
        self.admission = admission
        self.parser = HTTPRequestParser(limits: server.configuration.parserLimits)
        let now = Self.now()
        self.phaseStart = now
        self.lastWriteProgress = now
        self.acceptedAt = now
    }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    // MARK: - Starting

    /// Installs the read source. State must be final before this: the source may fire
    /// immediately on another thread.
    func start() {
        let source = DispatchSource.makeReadSource(fileDescriptor: socket.fd, queue: loop.queue)
        source.setEventHandler { [self] in onReadable() }
        source.setCancelHandler { [self] in sourceCancelled() }
        lock.lock()
        readSource = source
        liveSources += 1
        if lifecycle != .open {
            readSuspended = true
        } else {
            source.resume()
        }
        lock.unlock()
    }

    // MARK: - Reading

    /// Whether another request may be parsed and queued now: not while the backlog is full
    /// or the client has left more than `maxUnsentResponseBytes` of responses unread.
    var canAcceptMore: Bool {
        lifecycle == .open && !peerClosed && !parser.hasFailed && backlog.count < config.maxPipelinedRequests
            && unsentBytes <= config.maxUnsentResponseBytes
    }

    /// Response bytes queued but not yet taken by the socket.
    var unsentBytes: Int { out.count - outOffset }

    func onReadable() {
        lock.lock()
        defer { lock.unlock() }
        switch lifecycle {
        case .closed: return
        case .lingering: discardInput(); return
        case .closingAfterFlush: suspendReading(); return
        case .open: break
        }
        let buffer = loop.readBuffer
        var reads = 0
        readLoop: while canAcceptMore {
            let result = tls?.read(into: buffer) ?? socket.read(into: buffer)
            switch result {
            case .bytes(let n):
                parser.append(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                parseAvailable()
                reads += 1
                let more = tls?.hasBufferedPlaintext ?? false
                if (n < buffer.count && !more) || reads >= 4 { break readLoop }
            case .wouldBlock:
                break readLoop
            case .eof:
                peerClosed = true
                handlerTask?.cancel()
                break readLoop
            case .failed(let error):
                server.logger.debug("read failed", metadata: ["remote": "\(remoteAddress)", "error": "\(error)"])
                closeNow()
                return
            }
        }
        guard lifecycle == .open else { return }
        guard reserveHeldBytes() else { return }
        if !canAcceptMore { suspendReading() }
        notePhase(Self.now())
        startNextIfIdle()
    }

    /// Pulls parsed events into the backlog until it is full or more bytes are needed.
    private func parseAvailable() {
        while lifecycle == .open && !parser.hasFailed && backlog.count < config.maxPipelinedRequests {
            do throws(HTTPParseError) {
                guard let event = try parser.next() else { return }
                switch event {
                case .continueRequested:
                    if !busy && backlog.isEmpty {
                        out += ResponseEncoder.continueResponse
                        flush()
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

    private func discardInput() {
        for _ in 0..<8 {
            switch socket.read(into: loop.readBuffer) {
            case .bytes: continue
            case .wouldBlock: return
            case .eof, .failed: closeNow(); return
            }
        }
    }

    func suspendReading() {
        guard !readSuspended, let readSource else { return }
        readSuspended = true
        readSource.suspend()
    }

    /// Resumes reading once there is room again; bytes already buffered by the parser
    /// (or inside OpenSSL) are processed first because no readiness event will announce them.
    func resumeReadingIfPossible() {
        guard readSuspended, canAcceptMore else { return }
        parseAvailable()
        guard canAcceptMore, let readSource else { return }
        readSuspended = false
        readSource.resume()
        if tls != nil { loop.queue.async { [self] in onReadable() } }
    }

    func notePhase(_ now: UInt64) {
        let current = parser.phase
        if current != phase {
            phase = current
            phaseStart = now
        }
    }

    // MARK: - Dispatching work

    /// Starts the next queued request if no handler is running.
    func startNextIfIdle() {
        guard lifecycle == .open, !busy else { return }
        // Responses the client has not read yet: wait for the write source to drain them.
        guard unsentBytes <= config.maxUnsentResponseBytes else { return }
        guard !backlog.isEmpty else {
            if continuePending && parser.phase == .body {
                continuePending = false
                out += ResponseEncoder.continueResponse
                flush()
                guard lifecycle == .open else { return }
            }
            if peerClosed || (draining && parser.phase == .idle) {
                if outOffset == out.count { closeNow() } else { lifecycle = .closingAfterFlush }
                return
            }
            resumeReadingIfPossible()
            return
        }
        let work = backlog.removeFirst()
        busy = true
        switch work {
        case .failure(let error):
            respondToFailure(error.httpError, target: parser.failedTarget)
        case .request(let parsed):
            inFlightBodyBytes = parsed.body.count
            resumeReadingIfPossible()
            if admission != .normal && !isProbe(parsed.head) {
                respondToFailure(HTTPError(.serviceUnavailable, "server is at its connection limit; retry later",
                                           headers: ["Retry-After": String(config.retryAfterSeconds)]),
                                 target: parsed.head.target)
                return
            }
            dispatch(parsed, keepAlive: parsed.head.keepAlive && admission == .normal)
        }
    }

    private func dispatch(_ parsed: ParsedRequest, keepAlive: Bool) {
        let request = HTTPRequest(
            method: parsed.head.method, target: parsed.head.target, version: parsed.head.version,
            headers: parsed.head.headers, body: parsed.body, trailers: parsed.trailers,
            remoteAddress: remoteAddress, requestID: RequestID.from(parsed.head.headers), isSecure: tls != nil)
        let started = Self.now()
        let server = self.server
        handlerTask = Task {
            let response = await server.respond(to: request)
            await self.send(response, for: request, keepAlive: keepAlive, started: started)
        }
    }

    /// Writes an error produced by the server itself (parse failure, timeout) and closes.
    /// Answers `error` and closes; `target` is the failed request's target when it is known.
    func respondToFailure(_ error: HTTPError, target: String? = nil) {
        backlog.removeAll()
        suspendReading()
        lifecycle = .closingAfterFlush
        appendErrorResponse(error, target: target)
        flush()
        server.logAccess(method: "-", path: "-", status: error.status.code, bytes: 0, started: Self.now(),
                         requestID: "-", remote: remoteAddress)
    }

    func appendErrorResponse(_ error: HTTPError, target: String? = nil) {
        let response = error.response
        let body = config.errorBody?(target, error) ?? response.bodyBytes ?? []
        out += ResponseEncoder.head(status: response.status, headers: response.headers, framing: .length(body.count),
                                    keepAlive: false, requestID: RequestID.generate(), serverName: config.serverName)
        out += body
    }

    // MARK: - Closing

    /// Ends a connection politely after its last response: shut down the write side and
    /// keep draining input for `lingerTimeout`, so unread request bytes do not make the
    /// kernel answer with RST and destroy the response before the client reads it.
    func beginClose() {
        guard lifecycle == .open || lifecycle == .closingAfterFlush else { return }
        if peerClosed {
            closeNow()
            return
        }
        tls?.shutdown()
        socket.shutdownWrite()
        let linger = admission == .normal ? config.lingerTimeout : min(config.lingerTimeout, .seconds(1))
        lifecycle = .lingering(deadline: Self.now() &+ linger.nanoseconds)
        if readSuspended, let readSource {
            readSuspended = false
            readSource.resume()
        }
    }

    /// Closes immediately. The descriptor itself is closed once every dispatch source
    /// has been cancelled, so its number cannot be reused while a source still watches it.
    func closeNow() {
        guard lifecycle != .closed else { return }
        lifecycle = .closed
        backlog.removeAll()
        handlerTask?.cancel()
        handlerTask = nil
        releaseHeldBytes()
        if let readSource {
            readSource.cancel()
            if readSuspended { readSuspended = false; readSource.resume() }
        }
        if let writeSource {
            writeSource.cancel()
            if writeSuspended { writeSuspended = false; writeSource.resume() }
        }
        if liveSources == 0 { releaseDescriptor() }
        let waiters = writeWaiters
        writeWaiters.removeAll()
        for waiter in waiters { waiter.resume(throwing: ConnectionClosedError()) }
        server.connectionClosed(self)
    }

    func sourceCancelled() {
        lock.lock()
        liveSources -= 1
        if liveSources == 0 { releaseDescriptor() }
        lock.unlock()
    }

    /// Closes the descriptor exactly once: a second close could hit a number the kernel
    /// has already handed to another connection.
    private func releaseDescriptor() {
        guard !descriptorReleased else { return }
        descriptorReleased = true
        tls = nil
        socket.close()
    }

    /// Server shutdown: idle connections close now, busy ones after their current response.
    func beginDrain() {
        lock.lock()
        defer { lock.unlock() }
        draining = true
        if lifecycle == .open && !busy && backlog.isEmpty && parser.phase == .idle && outOffset == out.count {
            closeNow()
        }
    }

    /// Forced close at the shutdown deadline.
    func forceClose() {
        lock.lock()
        closeNow()
        lock.unlock()
    }
}

/// Thrown by `HTTPBodyWriter.write` when the client has gone away.
public struct ConnectionClosedError: Error, Sendable, CustomStringConvertible {
    public var description: String { "the connection was closed" }
}
