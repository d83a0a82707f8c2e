@preconcurrency import Dispatch
import Foundation
import Logging
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
// Why unchecked: the state below is guarded by `lock` by hand (lock order: connection, then server).
public final class HTTPServer: @unchecked Sendable {
    public let configuration: Configuration
    let logger: Logger
    private let responder: Responder
    private let chain: MiddlewareChain
    private let loops: [IOLoop]
    private let acceptQueue = DispatchQueue(label: "vaeguard.http.accept")
    /// Request bytes held by all connections (`Configuration.maxBufferedRequestBytes`).
    public let requestBudget: MemoryBudget
    let lock = NSLock()

    enum Responder: Sendable {
        case router(Router)
        case handler(HTTPHandler)
    }

    enum State { case idle, running, stopping, stopped }

    // MARK: State (guarded by `lock`)

    var state = State.idle
    var listener: Socket?
    var acceptSource: (any DispatchSourceRead)?
    var sweeper: (any DispatchSourceTimer)?
    private var tlsContext: TLSContext?
    var connections: [Int: Connection] = [:]
    private var activeCount = 0
    private var reservedCount = 0
    /// Probe-slot connections, oldest first: a full reserve makes room by evicting the
    /// oldest one that has not sent a request (a flood of silent connections cannot keep
    /// probes out, because a probe sends its request at once).
    private var reservedOrder: [Connection] = []
    private var rejectingCount = 0
    private var nextConnectionID = 0
    private var boundPort: UInt16 = 0
    private var draining = false
    private var drainingObservers: [@Sendable () -> Void] = []
    var allClosedWaiters: [CheckedContinuation<Void, Never>] = []
    var stoppedWaiters: [CheckedContinuation<Void, Never>] = []
    private var signalHandlers: [SignalHandlers] = []

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
        lock.lock()
        defer { lock.unlock() }
        guard state == .idle else { throw HTTPError(.internalServerError, "server already started") }
        // TLS writes go through write(2), which would raise SIGPIPE on a vanished peer.
        signal(SIGPIPE, SIG_IGN)
        tlsContext = try configuration.tls.map { config throws(TLSError) in try TLSContext(configuration: config) }
        let socket = try Socket.listen(host: configuration.host, port: configuration.port,
                                       backlog: configuration.backlog)
        do {
            boundPort = try socket.localPort()
        } catch {
            socket.close()
            throw error
        }
        listener = socket
        let source = DispatchSource.makeReadSource(fileDescriptor: socket.fd, queue: acceptQueue)
        source.setEventHandler { [self] in acceptConnections(on: socket) }
        source.setCancelHandler { socket.close() }
        acceptSource = source
        source.resume()
        sweeper = startSweeper()
        state = .running
        logger.notice("listening", metadata: ["host": "\(configuration.host)", "port": "\(boundPort)",
                                             "tls": "\(configuration.tls != nil)"])
    }

    /// Starts and then suspends until the server has been shut down.
    public func run() async throws {
        try start()
        await waitUntilStopped()
    }

    /// The bound port (meaningful after `start()`; resolves port 0).
    public var port: UInt16 {
        lock.lock()
        defer { lock.unlock() }
        return boundPort
    }

    /// Open connections, including those being refused with 503.
    public var connectionCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return connections.count
    }

    // MARK: - Draining

    /// `true` once `beginDraining()` or `shutdown` has been called: a readiness probe
    /// should start failing so the load balancer stops sending new traffic.
    public var isDraining: Bool {
        lock.lock()
        defer { lock.unlock() }
        return draining
    }

    /// Flips readiness to draining without closing anything yet.
    public func beginDraining() {
        lock.lock()
        let first = !draining
        draining = true
        let observers = drainingObservers
        lock.unlock()
        if first { observers.forEach { $0() } }
    }

    /// Registers a callback run once when the server starts draining.
    public func onDraining(_ observer: @escaping @Sendable () -> Void) {
        lock.lock()
        let already = draining
        if !already { drainingObservers.append(observer) }
        lock.unlock()
        if already { observer() }
    }

    /// Keeps signal registrations for the server's lifetime.
    func retainSignalHandlers(_ handlers: SignalHandlers) {
        lock.lock()
        signalHandlers.append(handlers)
        lock.unlock()
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
        lock.lock()
        guard let source = acceptSource else { lock.unlock(); return }
        source.suspend()
        lock.unlock()
        acceptQueue.asyncAfter(deadline: .now() + .milliseconds(100)) { [self] in
            lock.lock()
            // Resume only if the same source is still installed (cancelled sources must
            // still be resumed once so their cancel handler runs).
            source.resume()
            lock.unlock()
        }
    }

    private func admit(_ socket: Socket, remote: String) {
        lock.lock()
        guard state == .running else {
            lock.unlock()
            socket.close()
            return
        }
        nextConnectionID += 1
        let id = nextConnectionID
        let loop = loops[id % loops.count]
        var admission = Connection.Admission.normal
        var evict: Connection?
        if activeCount >= configuration.maxConnections {
            // Over the limit: a few reserved slots read the request and serve only probes
            // (so liveness and readiness stay answerable); past them, refusals get 503 cheaply
            // (TLS ones after a handshake, the only way to answer them), up to a small cap of
            // pending refusals; past that we just close.
            let rejectCap = 16 + configuration.maxConnections / 8
            let reserve = configuration.reservedProbeConnections
            if reservedCount < reserve {
                reservedCount += 1
                admission = .overflow(servesProbes: true)
            } else if reserve > 0 && reservedCount < 2 * reserve, !reservedOrder.isEmpty {
                // Evict the oldest (after unlocking: lock order is connection, then server).
                evict = reservedOrder.removeFirst()
                reservedCount += 1
                admission = .overflow(servesProbes: true)
            } else if rejectingCount < rejectCap {
                rejectingCount += 1
                admission = tlsContext == nil ? .refused : .overflow(servesProbes: false)
            } else {
                lock.unlock()
                socket.close()
                return
            }
            if admission == .refused {
                let connection = Connection(id: id, socket: socket, remoteAddress: remote, tls: nil, server: self,
                                            loop: loop, admission: .refused)
                connections[id] = connection
                lock.unlock()
                connection.reject(retryAfter: configuration.retryAfterSeconds)
                return
            }
        }
        var session: TLSSession?
        if let tlsContext {
            do {
                session = try tlsContext.makeSession(for: socket)
            } catch {
                uncount(admission)
                evict.map { victim in reservedOrder.insert(victim, at: 0) }
                lock.unlock()
                logger.error("TLS session setup failed", metadata: ["error": "\(error)"])
                socket.close()
                return
            }
        }
        if admission == .normal { activeCount += 1 }
        let connection = Connection(id: id, socket: socket, remoteAddress: remote, tls: session, server: self, loop: loop,
                                    admission: admission)
        connections[id] = connection
        if admission == .overflow(servesProbes: true) { reservedOrder.append(connection) }
        lock.unlock()
        evict?.evictIfSilent()
        connection.start()
    }

    /// Called by a connection (holding none of its locks) once it has closed.
    func connectionClosed(_ connection: Connection) {
        lock.lock()
        guard connections.removeValue(forKey: connection.id) != nil else {
            lock.unlock()
            return
        }
        uncount(connection.admission)
        reservedOrder.removeAll { $0 === connection }
        var waiters: [CheckedContinuation<Void, Never>] = []
        if connections.isEmpty {
            waiters = allClosedWaiters
            allClosedWaiters.removeAll()
        }
        lock.unlock()
        waiters.forEach { $0.resume() }
    }

    /// Gives back the slot an admission took (caller holds `lock`).
    private func uncount(_ admission: Connection.Admission) {
        switch admission {
        case .normal: activeCount -= 1
        case .overflow(servesProbes: true): reservedCount -= 1
        case .overflow(servesProbes: false), .refused: rejectingCount -= 1
        }
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
        lock.lock()
        let snapshot = Array(connections.values)
        lock.unlock()
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
