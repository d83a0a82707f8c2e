@preconcurrency import Dispatch
import Foundation
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - HTTPServer

/// An HTTP/1.1 server on POSIX sockets and Dispatch.
///
/// ```swift
/// var router = Router()
/// router.post("/v2/models/:name/infer") { request in
///     .text("model \(request.pathParameters["name"]!)")
/// }
/// let server = HTTPServer(configuration: .init(host: "::", port: 8080), router: router,
///                         middleware: [AuthMiddleware()], logger: logger)
/// try server.start()
/// server.installSignalHandlers()          // SIGTERM/SIGINT → graceful shutdown
/// await server.waitUntilStopped()
/// ```
///
/// I/O model (see docs/HTTP-SERVER.md for the measurements behind it): non-blocking
/// sockets watched by dispatch read/write sources on a few serial I/O queues; request
/// handlers run as tasks on the cooperative pool, so a CPU-heavy handler never blocks
/// accepting, reading or writing for other connections.
public final class HTTPServer: Sendable {
    public let configuration: Configuration
    let logger: Logger
    private let responder: Responder
    private let chain: MiddlewareChain
    private let loops: [IOLoop]
    private let acceptQueue = DispatchQueue(label: "vaeguard.http.accept")
    /// Request bytes held by all connections (`Configuration.maxBufferedRequestBytes`).
    public let requestBudget: MemoryBudget
    /// Everything that changes after init. Never held while calling into a connection: a
    /// connection calls back (`connectionClosed`) and the mutex is not recursive.
    let locked = Mutex(ServerState())

    enum Responder: Sendable {
        case router(Router)
        case handler(HTTPHandler)
    }

    enum State { case idle, running, stopping, stopped }

    /// What `locked` guards.
    struct ServerState {
        var lifecycle = State.idle
        var listener: Socket?
        var acceptSource: (any DispatchSourceRead)?
        /// The accept source while accepting is paused (out of descriptors).
        var pausedAcceptSource: (any DispatchSourceRead)?
        var sweeper: (any DispatchSourceTimer)?
        var tlsContext: TLSContext?
        var connections: [Int: Connection] = [:]
        var activeCount = 0
        var reservedCount = 0
        /// Probe-slot connections, oldest first: a full reserve makes room by evicting the
        /// oldest one that has not sent a request (a flood of silent connections cannot keep
        /// probes out, because a probe sends its request at once).
        var reservedOrder: [Connection] = []
        var rejectingCount = 0
        var nextConnectionID = 0
        var boundPort: UInt16 = 0
        var draining = false
        var drainingObservers: [@Sendable () -> Void] = []
        var allClosedWaiters: [CheckedContinuation<Void, Never>] = []
        var stoppedWaiters: [CheckedContinuation<Void, Never>] = []
        var signalHandlers: [SignalHandlers] = []

        /// Gives back the slot an admission took.
        mutating func uncount(_ admission: Connection.Admission) {
            switch admission {
            case .normal: activeCount -= 1
            case .overflow(servesProbes: true): reservedCount -= 1
            case .overflow(servesProbes: false), .refused: rejectingCount -= 1
            }
        }
    }

    // MARK: - Init

    /// A server that routes with `router`, running `middleware` (first is outermost)
    /// around every request, matched or not.
    public init(configuration: Configuration = Configuration(), router: Router, middleware: [any Middleware] = [],
                logger: Logger = Logger(label: "vaeguard.http")) {
        self.configuration = configuration
        self.logger = logger
        self.responder = .router(router)
        self.chain = MiddlewareChain(middlewares: middleware)
        self.loops = (0..<max(1, configuration.ioQueueCount)).map { IOLoop(index: $0) }
        self.requestBudget = MemoryBudget(limit: configuration.maxBufferedRequestBytes)
    }

    /// A server that sends every request to one handler.
    public init(configuration: Configuration = Configuration(), middleware: [any Middleware] = [],
                logger: Logger = Logger(label: "vaeguard.http"), handler: @escaping HTTPHandler) {
        self.configuration = configuration
        self.logger = logger
        self.responder = .handler(handler)
        self.chain = MiddlewareChain(middlewares: middleware)
        self.loops = (0..<max(1, configuration.ioQueueCount)).map { IOLoop(index: $0) }
        self.requestBudget = MemoryBudget(limit: configuration.maxBufferedRequestBytes)
    }

    // MARK: - Lifecycle

    /// Binds, listens and starts accepting. Returns once the port is bound, so a test
    /// can read `port` and connect straight away.
    /// - Throws: `SocketError` (bind/listen), `TLSError` (certificate or key).
    public func start() throws {
        let boundPort = try locked.withLock { server throws -> UInt16 in
            guard server.lifecycle == .idle else { throw HTTPError(.internalServerError, "server already started") }
            // TLS writes go through write(2), which would raise SIGPIPE on a vanished peer.
            signal(SIGPIPE, SIG_IGN)
            server.tlsContext = try configuration.tls.map { config throws(TLSError) in
                try TLSContext(configuration: config)
            }
            let socket = try Socket.listen(host: configuration.host, port: configuration.port,
                                           backlog: configuration.backlog)
            do {
                server.boundPort = try socket.localPort()
            } catch {
                socket.close()
                throw error
            }
            server.listener = socket
            let source = DispatchSource.makeReadSource(fileDescriptor: socket.fd, queue: acceptQueue)
            source.setEventHandler { [self] in acceptConnections(on: socket) }
            source.setCancelHandler { socket.close() }
            server.acceptSource = source
            source.resume()
            server.sweeper = startSweeper()
            server.lifecycle = .running
            return server.boundPort
        }
        logger.notice("listening", metadata: ["host": "\(configuration.host)", "port": "\(boundPort)",
                                             "tls": "\(configuration.tls != nil)"])
    }

    /// Starts and then suspends until the server has been shut down.
    public func run() async throws {
        try start()
        await waitUntilStopped()
    }

    /// The bound port (meaningful after `start()`; resolves port 0).
    public var port: UInt16 { locked.withLock { $0.boundPort } }

    /// Open connections, including those being refused with 503.
    public var connectionCount: Int { locked.withLock { $0.connections.count } }

    // MARK: - Draining

    /// `true` once `beginDraining()` or `shutdown` has been called: a readiness probe
    /// should start failing so the load balancer stops sending new traffic.
    public var isDraining: Bool { locked.withLock { $0.draining } }

    /// Flips readiness to draining without closing anything yet.
    public func beginDraining() {
        let observers = locked.withLock { server -> [@Sendable () -> Void] in
            guard !server.draining else { return [] }
            server.draining = true
            return server.drainingObservers
        }
        observers.forEach { $0() }
    }

    /// Registers a callback run once when the server starts draining.
    public func onDraining(_ observer: @escaping @Sendable () -> Void) {
        let already = locked.withLock { server in
            if !server.draining { server.drainingObservers.append(observer) }
            return server.draining
        }
        if already { observer() }
    }

    /// Keeps signal registrations for the server's lifetime.
    func retainSignalHandlers(_ handlers: SignalHandlers) {
        locked.withLock { $0.signalHandlers.append(handlers) }
    }

    // MARK: - Accepting

    private func acceptConnections(on listener: Socket) {
        while true {
            let accepted: (Socket, String)?
            do {
                accepted = try listener.accept()
            } catch {
                logger.error("accept failed", metadata: ["error": "\(error)"])
                if error.code == EMFILE || error.code == ENFILE { pauseAccepting() }
                return
            }
            guard let (socket, remote) = accepted else { return }
            socket.setNoDelay()
            admit(socket, remote: remote)
        }
    }

    /// Out of descriptors: stop accepting briefly instead of spinning on a readable listener.
    private func pauseAccepting() {
        let paused = locked.withLock { server in
            guard let source = server.acceptSource, server.pausedAcceptSource == nil else { return false }
            source.suspend()
            server.pausedAcceptSource = source
            return true
        }
        guard paused else { return }
        acceptQueue.asyncAfter(deadline: .now() + .milliseconds(100)) { [self] in
            // Resumed even if it was cancelled meanwhile: a cancelled source must still be
            // resumed once so its cancel handler runs.
            locked.withLock { server in
                server.pausedAcceptSource?.resume()
                server.pausedAcceptSource = nil
            }
        }
    }

    /// What `admit` decided under the lock, done after it is released.
    private enum AdmitDecision: Sendable {
        case close
        case refuse(Connection)
        case tlsFailed(any Error)
        case start(Connection, evict: Connection?)
    }

    private func admit(_ socket: Socket, remote: String) {
        let decision = locked.withLock { server -> AdmitDecision in
            guard server.lifecycle == .running else { return .close }
            server.nextConnectionID += 1
            let id = server.nextConnectionID
            let loop = loops[id % loops.count]
            var admission = Connection.Admission.normal
            var evict: Connection?
            if server.activeCount >= configuration.maxConnections {
                // Over the limit: a few reserved slots read the request and serve only probes
                // (so liveness and readiness stay answerable); past them, refusals get 503 cheaply
                // (TLS ones after a handshake, the only way to answer them), up to a small cap of
                // pending refusals; past that we just close.
                let rejectCap = 16 + configuration.maxConnections / 8
                let reserve = configuration.reservedProbeConnections
                if server.reservedCount < reserve {
                    server.reservedCount += 1
                    admission = .overflow(servesProbes: true)
                } else if reserve > 0 && server.reservedCount < 2 * reserve, !server.reservedOrder.isEmpty {
                    // Evict the oldest (after unlocking: a connection calls back into the server).
                    evict = server.reservedOrder.removeFirst()
                    server.reservedCount += 1
                    admission = .overflow(servesProbes: true)
                } else if server.rejectingCount < rejectCap {
                    server.rejectingCount += 1
                    admission = server.tlsContext == nil ? .refused : .overflow(servesProbes: false)
                } else {
                    return .close
                }
                if admission == .refused {
                    let connection = Connection(id: id, socket: socket, remoteAddress: remote, tls: nil, server: self,
                                                loop: loop, admission: .refused)
                    server.connections[id] = connection
                    return .refuse(connection)
                }
            }
            var session: TLSSession?
            if let tlsContext = server.tlsContext {
                do {
                    session = try tlsContext.makeSession(for: socket)
                } catch {
                    server.uncount(admission)
                    if let evict { server.reservedOrder.insert(evict, at: 0) }
                    return .tlsFailed(error)
                }
            }
            if admission == .normal { server.activeCount += 1 }
            let connection = Connection(id: id, socket: socket, remoteAddress: remote, tls: session, server: self,
                                        loop: loop, admission: admission)
            server.connections[id] = connection
            if admission == .overflow(servesProbes: true) { server.reservedOrder.append(connection) }
            return .start(connection, evict: evict)
        }
        switch decision {
        case .close:
            socket.close()
        case .refuse(let connection):
            connection.reject(retryAfter: configuration.retryAfterSeconds)
        case .tlsFailed(let error):
            logger.error("TLS session setup failed", metadata: ["error": "\(error)"])
            socket.close()
        case .start(let connection, let evict):
            evict?.evictIfSilent()
            connection.start()
        }
    }

    /// Called by a connection (holding none of its locks) once it has closed.
    func connectionClosed(_ connection: Connection) {
        let waiters = locked.withLock { server -> [CheckedContinuation<Void, Never>] in
            guard server.connections.removeValue(forKey: connection.id) != nil else { return [] }
            server.uncount(connection.admission)
            server.reservedOrder.removeAll { $0 === connection }
            guard server.connections.isEmpty else { return [] }
            defer { server.allClosedWaiters.removeAll() }
            return server.allClosedWaiters
        }
        waiters.forEach { $0.resume() }
    }

    // MARK: - Timeouts

    /// One timer for all connections instead of one per connection: timer churn per
    /// request would cost more than a periodic scan of a few thousand entries.
    private func startSweeper() -> any DispatchSourceTimer {
        let c = configuration
        let shortest = [c.headerTimeout, c.bodyTimeout, c.idleTimeout, c.writeTimeout, c.lingerTimeout,
                        c.tlsHandshakeTimeout].min()!
        let interval = min(max(shortest / 4, .milliseconds(5)), .milliseconds(500))
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue.global(qos: .utility))
        let nanos = Int(interval.nanoseconds)
        timer.schedule(deadline: .now() + .nanoseconds(nanos), repeating: .nanoseconds(nanos), leeway: .nanoseconds(nanos / 4))
        timer.setEventHandler { [weak self] in self?.sweep() }
        timer.resume()
        return timer
    }

    private func sweep() {
        let snapshot = locked.withLock { Array($0.connections.values) }
        for connection in snapshot { connection.checkTimeouts() }
        MemoryTrimmer.shared.trimIfDue()
    }

    // MARK: - Responding

    /// Routes, runs middleware and the handler, and maps errors to JSON responses.
    /// Never throws: every failure becomes a response.
    func respond(to request: HTTPRequest) async -> HTTPResponse {
        var request = request
        let endpoint: HTTPHandler
        switch responder {
        case .handler(let handler):
            endpoint = handler
        case .router(let router):
            switch router.resolve(method: request.method, path: request.path) {
            case .matched(let handler, let parameters, let pattern):
                request.pathParameters = parameters
                request.route = pattern
                endpoint = handler
            case .methodNotAllowed(let allowed):
                endpoint = { _ in throw Router.methodNotAllowed(allowed) }
            case .notFound:
                endpoint = { request in throw HTTPError(.notFound, "no route for \(request.method) \(request.path)") }
            }
        }
        do {
            return try await chain.middlewares.isEmpty ? endpoint(request) : chain.run(request, endpoint: endpoint)
        } catch let error as any HTTPErrorConvertible {
            return error.httpError.response
        } catch is CancellationError {
            // The client went away (or the server is stopping); nobody may read this.
            return HTTPError(.serviceUnavailable, "the request was cancelled: the client closed its connection").response
        } catch {
            logger.error("handler failed", metadata: ["error": "\(error)", "request_id": "\(request.requestID)",
                                                      "path": "\(request.path)"])
            return HTTPError(.internalServerError, "internal server error").response
        }
    }
}

// MARK: - IOLoop

/// A serial queue that runs socket I/O for a share of the connections, with a scratch
/// read buffer that is safe to reuse because the queue is serial.
// Why unchecked: `readBuffer` is raw memory touched only on `queue`, which is serial.
final class IOLoop: @unchecked Sendable {
    let queue: DispatchQueue
    let readBuffer: UnsafeMutableRawBufferPointer

    init(index: Int) {
        queue = DispatchQueue(label: "vaeguard.http.io.\(index)")
        readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
    }

    deinit { readBuffer.deallocate() }
}
