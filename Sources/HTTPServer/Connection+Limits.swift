import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Per-connection and global limits

extension Connection {

    /// How the connection was let in (see `HTTPServer.admit`).
    enum Admission: Equatable {
        /// Within `maxConnections`.
        case normal
        /// Above the limit, with its request read: a probe path is served when
        /// `servesProbes`, anything else is answered 503. TLS refusals use this too, since a
        /// TLS client can only be answered after a handshake.
        case overflow(servesProbes: Bool)
        /// Above every reserve: answered 503 at once, without reading.
        case refused
    }

    /// Answers 503 without reading the request and closes: used above `maxConnections`.
    func reject(retryAfter: Int) {
        let error = HTTPError(.serviceUnavailable, "server is at its connection limit; retry later",
                              headers: ["Retry-After": String(retryAfter)])
        lock.lock()
        busy = true
        lifecycle = .closingAfterFlush
        appendErrorResponse(error)
        lock.unlock()
        start()
        lock.lock()
        flush()
        lock.unlock()
        server.logAccess(method: "-", path: "-", status: 503, bytes: 0, started: Self.now(),
                         requestID: "-", remote: remoteAddress)
    }

    /// Whether a request on an over-the-limit connection may be served: a GET or HEAD of
    /// one of `probePaths` (exact, query ignored), on a connection admitted to serve probes.
    func isProbe(_ head: HTTPRequestHead) -> Bool {
        guard admission == .overflow(servesProbes: true), head.method == .get || head.method == .head else { return false }
        let path = head.target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return config.probePaths.contains(String(path))
    }

    /// Request bytes this connection holds now: unparsed input, the partial chunked body,
    /// queued requests' bodies and the body of the request being handled.
    private var neededBytes: Int {
        var total = parser.heldByteCount + inFlightBodyBytes
        for case .request(let request) in backlog { total += request.body.count }
        return total
    }

    /// Moves this connection's reservation in the server's request-memory budget to what it
    /// holds. When the budget has no room, the client is answered 503 + `Retry-After` (or,
    /// while a handler owns the write side, the connection is closed) and `false` returned.
    func reserveHeldBytes() -> Bool {
        let needed = neededBytes
        if needed <= heldBytes {
            server.requestBudget.release(heldBytes - needed)
            heldBytes = needed
            return true
        }
        if server.requestBudget.tryReserve(needed - heldBytes) {
            heldBytes = needed
            return true
        }
        server.logger.warning("request memory budget exhausted; refusing a connection",
                              metadata: ["remote": "\(remoteAddress)", "held_bytes": "\(needed)",
                                         "budget_bytes": "\(config.maxBufferedRequestBytes)"])
        if busy {
            closeNow()
        } else {
            busy = true
            respondToFailure(HTTPError(.serviceUnavailable, "server is holding too many request bytes; retry later",
                                       headers: ["Retry-After": String(config.retryAfterSeconds)]))
            // What the parser holds is dropped with the connection; keep only what is queued.
            releaseHeldBytes()
        }
        return false
    }

    /// Gives the whole reservation back (closing, or answering with an error).
    func releaseHeldBytes() {
        server.requestBudget.release(heldBytes)
        heldBytes = 0
    }

    /// A handler finished: its request body is no longer held.
    func requestCompleted() {
        inFlightBodyBytes = 0
        handlerTask = nil
        parser.releaseIdleBuffer()
        let needed = neededBytes
        if needed < heldBytes {
            server.requestBudget.release(heldBytes - needed)
            heldBytes = needed
        }
    }

    /// Closes this probe-slot connection if it has not sent a complete request yet, to make
    /// room for a newer one (see `HTTPServer.admit`).
    func evictIfSilent() {
        lock.lock()
        defer { lock.unlock() }
        if requestsParsed == 0 && !busy && lifecycle == .open { closeNow() }
    }

    // MARK: - Noticing a vanished client

    /// While a handler runs and reading is paused, asks the kernel whether the peer has
    /// closed (`POLLRDHUP` is set even when unread bytes are queued) and, if so, cancels
    /// the handler so the work it ordered is dropped. Called by the sweeper.
    func checkPeerGone() {
        guard busy, readSuspended, !peerClosed, lifecycle == .open, handlerTask != nil else { return }
        var fds = pollfd(fd: socket.fd, events: Self.pollPeerClosed, revents: 0)
        guard poll(&fds, 1, 0) == 1 else { return }
        if fds.revents & (Self.pollPeerClosed | Int16(POLLHUP) | Int16(POLLERR)) != 0 {
            peerClosed = true
            handlerTask?.cancel()
        }
    }

    /// `POLLRDHUP` (Linux; Glibc only exports it under `_GNU_SOURCE`), else `POLLHUP`.
    #if os(Linux)
    static let pollPeerClosed: Int16 = 0x2000
    #else
    static let pollPeerClosed = Int16(POLLHUP)
    #endif

    // MARK: - Accept-relative deadlines

    /// How long a connection that has not finished its first request may stay: the header
    /// timeout from accept (shorter above the connection limit, where slots are reserved),
    /// and the TLS handshake timeout while the handshake is unfinished.
    func firstRequestOverdue(now: UInt64) -> Bool {
        let waited = now > acceptedAt ? now - acceptedAt : 0
        if let tls, !tls.isHandshakeComplete, waited > config.tlsHandshakeTimeout.nanoseconds { return true }
        guard requestsParsed == 0, parser.phase != .body else { return false }
        let limit = admission == .normal ? config.headerTimeout : min(config.headerTimeout, .seconds(2))
        return waited > limit.nanoseconds
    }
}
