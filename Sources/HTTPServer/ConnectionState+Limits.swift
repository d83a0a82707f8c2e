// MARK: - Memory budget

extension ConnectionState {

    /// Request bytes this connection holds now: unparsed input, the partial chunked body,
    /// queued requests' bodies and the body of the request being handled.
    var neededBytes: Int {
        var total = parser.heldByteCount + inFlightBodyBytes
        for case .request(let request) in backlog { total += request.body.count }
        return total
    }

    /// Moves this connection's reservation in the request-memory budget to what it holds.
    /// When the budget has no room, the client is answered 503 + `Retry-After` (or, while a
    /// handler owns the write side, the connection is closed) and `false` returned.
    mutating func reserveHeldBytes(now: UInt64) -> Bool {
        let needed = neededBytes
        if needed <= heldBytes {
            budget.release(heldBytes - needed)
            heldBytes = needed
            return true
        }
        if budget.tryReserve(needed - heldBytes) {
            heldBytes = needed
            return true
        }
        emit(.logBudgetExhausted(heldBytes: needed))
        if busy {
            close()
        } else {
            busy = true
            respondToFailure(HTTPError(.serviceUnavailable, "server is holding too many request bytes; retry later",
                                       headers: ["Retry-After": String(config.retryAfterSeconds)]), now: now)
            // What the parser holds is dropped with the connection; keep only what is queued.
            releaseHeldBytes()
        }
        return false
    }

    /// Gives the whole reservation back (closing, or answering with an error).
    mutating func releaseHeldBytes() {
        budget.release(heldBytes)
        heldBytes = 0
    }

    /// A handler finished: its request body is no longer held.
    mutating func requestCompleted() {
        inFlightBodyBytes = 0
        handlerTask = nil
        runningHandler = nil
        parser.releaseIdleBuffer()
        let needed = neededBytes
        if needed < heldBytes {
            budget.release(heldBytes - needed)
            heldBytes = needed
        }
    }

    // MARK: - Noticing a vanished client

    /// Whether to ask the kernel if the peer has closed: a handler runs and reading is
    /// paused, so no EOF would be seen (see `Connection.checkTimeouts`).
    var shouldProbePeer: Bool {
        busy && readPaused && !peerClosed && lifecycle == .open && handlerTask != nil
    }

    /// The kernel says the peer has closed: cancel the handler so the work it ordered is dropped.
    mutating func peerVanished() -> [ConnectionAction] {
        guard lifecycle == .open, !peerClosed else { return takeActions() }
        peerClosed = true
        if let handlerTask { emit(.cancelHandler(handlerTask)) }
        return takeActions()
    }

    // MARK: - Timeouts

    /// How long a connection that has not finished its first request may stay: the header
    /// timeout from accept (shorter above the connection limit, where slots are reserved),
    /// and the TLS handshake timeout while the handshake is unfinished.
    func firstRequestOverdue(now: UInt64) -> Bool {
        let waited = now > acceptedAt ? now - acceptedAt : 0
        if isSecure, !tlsHandshakeComplete, waited > config.tlsHandshakeTimeout.nanoseconds { return true }
        guard requestsParsed == 0, parser.phase != .body else { return false }
        let limit = admission == .normal ? config.headerTimeout : min(config.headerTimeout, .seconds(2))
        return waited > limit.nanoseconds
    }

    /// Called periodically by the server's sweeper: closes, or answers 408, whatever has
    /// waited too long in its phase (header, body, idle keep-alive, write, linger).
    mutating func checkTimeouts(now: UInt64) -> [ConnectionAction] {
        func elapsed(since start: UInt64) -> UInt64 { now > start ? now - start : 0 }
        switch lifecycle {
        case .closed:
            break
        case .lingering(let deadline):
            if now >= deadline { close() }
        case .closingAfterFlush:
            if elapsed(since: lastWriteProgress) > config.writeTimeout.nanoseconds { close() }
        case .open:
            if firstRequestOverdue(now: now) {
                // Nothing answerable yet (no bytes, or a stalled TLS handshake): close; a
                // half-sent first head still gets its 408 below.
                if parser.phase != .head || !tlsHandshakeComplete {
                    close()
                } else {
                    busy = true
                    respondToFailure(HTTPError(.requestTimeout, "timed out waiting for the request header section"),
                                     now: now)
                }
                break
            }
            if unsentBytes > 0 {
                if elapsed(since: lastWriteProgress) > config.writeTimeout.nanoseconds { close() }
                break
            }
            guard !busy && backlog.isEmpty else { break }
            notePhase(now)
            let waited = elapsed(since: phaseStart)
            switch phase {
            case .idle:
                if waited > config.idleTimeout.nanoseconds { close() }
            case .head:
                if waited > config.headerTimeout.nanoseconds {
                    busy = true
                    respondToFailure(HTTPError(.requestTimeout, "timed out waiting for the request header section"),
                                     now: now)
                }
            case .body:
                if waited > config.bodyTimeout.nanoseconds {
                    busy = true
                    respondToFailure(HTTPError(.requestTimeout, "timed out waiting for the request body"), now: now)
                }
            }
        }
        return takeActions()
    }
}
