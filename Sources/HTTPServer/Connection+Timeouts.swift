import Dispatch

// MARK: - Timeouts

extension Connection {

    /// Called periodically by the server's sweeper. The clock is read under the lock:
    /// a timestamp taken before it could be older than `phaseStart`.
    func checkTimeouts() {
        lock.lock()
        defer { lock.unlock() }
        let now = Self.now()
        func elapsed(since start: UInt64) -> UInt64 { now > start ? now - start : 0 }
        switch lifecycle {
        case .closed:
            return
        case .lingering(let deadline):
            if now >= deadline { closeNow() }
        case .closingAfterFlush:
            if elapsed(since: lastWriteProgress) > config.writeTimeout.nanoseconds { closeNow() }
        case .open:
            if firstRequestOverdue(now: now) {
                // Nothing answerable yet (no bytes, or a stalled TLS handshake): close; a
                // half-sent first head still gets its 408 below.
                if parser.phase != .head || !(tls?.isHandshakeComplete ?? true) {
                    closeNow()
                    return
                }
                busy = true
                respondToFailure(HTTPError(.requestTimeout, "timed out waiting for the request header section"))
                return
            }
            checkPeerGone()
            if outOffset < out.count {
                if elapsed(since: lastWriteProgress) > config.writeTimeout.nanoseconds { closeNow() }
                return
            }
            guard !busy && backlog.isEmpty else { return }
            notePhase(now)
            let waited = elapsed(since: phaseStart)
            switch phase {
            case .idle:
                if waited > config.idleTimeout.nanoseconds { closeNow() }
            case .head:
                if waited > config.headerTimeout.nanoseconds {
                    busy = true
                    respondToFailure(HTTPError(.requestTimeout, "timed out waiting for the request header section"))
                }
            case .body:
                if waited > config.bodyTimeout.nanoseconds {
                    busy = true
                    respondToFailure(HTTPError(.requestTimeout, "timed out waiting for the request body"))
                }
            }
        }
    }
}
