import Dispatch
import Foundation
import Logging
import Synchronization

// MARK: - Connection

/// One accepted client connection: reads and parses on its I/O queue, runs one handler
/// at a time on Swift's cooperative pool, and writes responses in request order.
///
/// A thin shell around `ConnectionState`: every event becomes one transition inside
/// `locked` (`update`), and the actions it returns (writes, handler tasks, logging) run
/// after the lock is released. Socket and TLS calls are serialised by `io`. The two locks
/// are never held together, and neither is held while calling into the server.
final class Connection: Sendable {
    let id: Int
    let remoteAddress: String
    let admission: Admission
    let isSecure: Bool
    let server: HTTPServer
    let loop: IOLoop
    private let fd: Int32
    private let locked: Mutex<Locked>
    private let io: Mutex<Transport>

    /// What `locked` guards: the state machine and the dispatch sources that follow it.
    struct Locked {
        var state: ConnectionState
        var sources = ConnectionSources()
    }

    init(id: Int, socket: Socket, remoteAddress: String, tls: consuming sending TLSSession?, server: HTTPServer,
         loop: IOLoop, admission: Admission = .normal) {
        self.id = id
        self.fd = socket.fd
        self.remoteAddress = remoteAddress
        self.admission = admission
        self.isSecure = tls != nil
        self.server = server
        self.loop = loop
        self.locked = Mutex(Locked(state: ConnectionState(config: server.configuration, admission: admission,
                                                          isSecure: tls != nil, budget: server.requestBudget,
                                                          now: Self.now())))
        self.io = Mutex(Transport(socket: socket, tls: tls))
    }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Runs one transition under the lock, then brings the dispatch sources in line with the
    /// new state; closes the descriptor (outside the lock) once the last source is gone.
    @discardableResult
    func update<R: Sendable>(_ transition: (inout ConnectionState) -> R) -> R {
        let (result, release) = locked.withLock { locked in
            let result = transition(&locked.state)
            return (result, reconcile(&locked))
        }
        if release { io.withLock { $0.close() } }
        return result
    }

    // MARK: - Starting

    /// Installs the read source; it may fire at once on the I/O queue.
    func start() {
        locked.withLock { locked in
            guard locked.state.lifecycle != .closed, locked.sources.read == nil else { return }
            let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: loop.queue)
            source.setEventHandler { [self] in onReadable() }
            source.setCancelHandler { [self] in sourceCancelled() }
            locked.sources.read = source
            locked.sources.live += 1
            _ = reconcile(&locked)
        }
    }

    // MARK: - Reading

    func onReadable() {
        switch update({ $0.readableEvent() }) {
        case .ignore: return
        case .discard: discardInput(); return
        case .read: break
        }
        let buffer = loop.readBuffer
        var actions: [ConnectionAction] = []
        var reads = 0
        readLoop: while update({ $0.canAcceptMore }) {
            let (result, more) = io.withLock { [loop] in $0.read(into: loop) }
            switch result {
            case .bytes(let n):
                actions += update { $0.received(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), now: Self.now()) }
                reads += 1
                if (n < buffer.count && !more) || reads >= 4 { break readLoop }
            case .wouldBlock:
                break readLoop
            case .eof:
                actions += update { $0.inputEnded() }
                break readLoop
            case .failed(let error):
                server.logger.debug("read failed", metadata: ["remote": "\(remoteAddress)", "error": "\(error)"])
                actions += update { $0.closeNow() }
                perform(actions)
                return
            }
        }
        let handshakeComplete = isSecure ? io.withLock { $0.isHandshakeComplete } : true
        actions += update { $0.readPassEnded(now: Self.now(), tlsHandshakeComplete: handshakeComplete) }
        perform(actions)
    }

    private func discardInput() {
        for _ in 0..<8 {
            switch io.withLock({ [loop] in $0.discard(into: loop) }) {
            case .bytes: continue
            case .wouldBlock: return
            case .eof, .failed: perform(update { $0.closeNow() }); return
            }
        }
    }

    // MARK: - Running actions

    /// Runs what a transition asked for; called without any lock held.
    func perform(_ actions: [ConnectionAction]) {
        for action in actions {
            switch action {
            case .write(let id):
                runWriter(id)
            case .shutdownWrite:
                io.withLock { $0.shutdownWrite() }
            case .dispatch(let parsed, let keepAlive, let generation):
                dispatch(parsed, keepAlive: keepAlive, generation: generation)
            case .cancelHandler(let task):
                task.cancel()
            case .resumeWriters(let waiters, let closed):
                for waiter in waiters {
                    if closed { waiter.resume(throwing: ConnectionClosedError()) } else { waiter.resume() }
                }
            case .scheduleRead:
                loop.queue.async { [self] in onReadable() }
            case .logFailure(let status):
                server.logAccess(method: "-", path: "-", status: status, bytes: 0, started: Self.now(),
                                 requestID: "-", remote: remoteAddress)
            case .logBudgetExhausted(let heldBytes):
                server.logger.warning("request memory budget exhausted; refusing a connection",
                                      metadata: ["remote": "\(remoteAddress)", "held_bytes": "\(heldBytes)",
                                                 "budget_bytes": "\(server.configuration.maxBufferedRequestBytes)"])
            case .closed:
                server.connectionClosed(self)
            }
        }
    }

    /// Writes queued output until it is drained, the socket is full or the connection closes.
    /// Only one writer runs at a time (`ConnectionState.writerActive`).
    private func runWriter(_ id: Int) {
        while true {
            let (output, actions) = update { $0.nextOutput(writer: id, now: Self.now()) }
            perform(actions)
            guard let output else { return }
            let result = io.withLock { transport in
                output.bytes.withUnsafeBytes { raw in
                    transport.write(UnsafeRawBufferPointer(rebasing: raw[output.offset...]))
                }
            }
            perform(update { $0.recordWrite(result, now: Self.now()) })
            // Blocked or failed: this writer is done (the write source hands out the next one).
            guard case .bytes = result else { return }
        }
    }

    private func onWritable() {
        perform(update { $0.socketWritable(now: Self.now()) })
    }

    private func dispatch(_ parsed: ParsedRequest, keepAlive: Bool, generation: Int) {
        let request = HTTPRequest(
            method: parsed.head.method, target: parsed.head.target, version: parsed.head.version,
            headers: parsed.head.headers, body: parsed.body, trailers: parsed.trailers,
            remoteAddress: remoteAddress, requestID: RequestID.from(parsed.head.headers), isSecure: isSecure)
        let started = Self.now()
        let server = self.server
        let task = Task {
            let response = await server.respond(to: request)
            await self.send(response, for: request, keepAlive: keepAlive, started: started)
        }
        if update({ $0.handlerStarted(task, generation: generation) }) { task.cancel() }
    }

    // MARK: - Dispatch sources

    /// Brings the sources in line with the state (called inside `locked`): suspend or resume
    /// reading, arm the write source while the socket is full, cancel both once closed.
    /// Returns whether the descriptor may be closed now.
    private func reconcile(_ locked: inout Locked) -> Bool {
        let lifecycle = locked.state.lifecycle
        let readPaused = locked.state.readPaused, wantsWritable = locked.state.wantsWritable
        if lifecycle == .closed {
            if let read = locked.sources.read, !locked.sources.readCancelled {
                locked.sources.readCancelled = true
                read.cancel()
                if locked.sources.readSuspended { locked.sources.readSuspended = false; read.resume() }
            }
            if let write = locked.sources.write, !locked.sources.writeCancelled {
                locked.sources.writeCancelled = true
                write.cancel()
                if locked.sources.writeSuspended { locked.sources.writeSuspended = false; write.resume() }
            }
            guard locked.sources.live == 0, !locked.sources.descriptorReleased else { return false }
            locked.sources.descriptorReleased = true
            return true
        }
        if let read = locked.sources.read, locked.sources.readSuspended != readPaused {
            if readPaused { read.suspend() } else { read.resume() }
            locked.sources.readSuspended = readPaused
        }
        if wantsWritable && locked.sources.write == nil {
            let source = DispatchSource.makeWriteSource(fileDescriptor: fd, queue: loop.queue)
            source.setEventHandler { [self] in onWritable() }
            source.setCancelHandler { [self] in sourceCancelled() }
            locked.sources.write = source
            locked.sources.live += 1
        }
        if let write = locked.sources.write, locked.sources.writeSuspended == wantsWritable {
            if wantsWritable { write.resume() } else { write.suspend() }
            locked.sources.writeSuspended = !wantsWritable
        }
        return false
    }

    private func sourceCancelled() {
        let release = locked.withLock { locked in
            locked.sources.live -= 1
            guard locked.sources.live == 0, locked.state.lifecycle == .closed,
                  !locked.sources.descriptorReleased else { return false }
            locked.sources.descriptorReleased = true
            return true
        }
        if release { io.withLock { $0.close() } }
    }

    // MARK: - Events from the server

    /// Server shutdown: idle connections close now, busy ones after their current response.
    func beginDrain() { perform(update { $0.beginDrain() }) }

    /// Forced close at the shutdown deadline.
    func forceClose() { perform(update { $0.closeNow() }) }

    /// Closes this probe-slot connection if it has not sent a complete request yet.
    func evictIfSilent() { perform(update { $0.evictIfSilent() }) }

    /// Answers 503 without reading the request and closes: used above every reserve.
    func reject(retryAfter: Int) {
        let actions = update { $0.reject(retryAfter: retryAfter, now: Self.now()) }
        start()
        perform(actions)
    }

    /// Called periodically by the server's sweeper. While a handler runs with reading
    /// paused, the kernel is asked whether the peer has gone, so its work can be cancelled.
    func checkTimeouts() {
        if update({ $0.shouldProbePeer }), io.withLock({ $0.peerHasClosed() }) {
            perform(update { $0.peerVanished() })
        }
        perform(update { $0.checkTimeouts(now: Self.now()) })
    }
}

/// Thrown by `HTTPBodyWriter.write` when the client has gone away.
public struct ConnectionClosedError: Error, Sendable, CustomStringConvertible {
    public var description: String { "the connection was closed" }
}
