import Dispatch
import Foundation

// MARK: - Shutdown

extension HTTPServer {

    /// Graceful shutdown: stops accepting, closes idle keep-alive connections, lets
    /// in-flight requests finish (their responses carry `Connection: close`) until
    /// `deadline`, force-closes whatever is left, then returns.
    public func shutdown(deadline: ContinuousClock.Instant) async {
        beginDraining()
        guard let open = stopAccepting() else {
            await waitUntilStopped()
            return
        }
        logger.notice("shutting down", metadata: ["open_connections": "\(open.count)"])
        for connection in open { connection.beginDrain() }

        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForAllConnectionsClosed() }
            group.addTask { try? await Task.sleep(until: deadline, clock: .continuous) }
            await group.next()
            // Whatever is still open missed the deadline.
            let remaining = openConnections()
            if !remaining.isEmpty {
                logger.warning("shutdown deadline reached; closing connections",
                               metadata: ["count": "\(remaining.count)"])
            }
            for connection in remaining { connection.forceClose() }
            group.cancelAll()
        }
        markStopped()
        logger.notice("stopped")
    }

    /// The part of a shutdown that needs no task: readiness turns to draining, the listener
    /// closes and idle connections close, at once and on the caller's thread. A signal
    /// handler calls it before it starts the `shutdown` task, so shutdown begins promptly
    /// even when every thread of the cooperative pool is busy.
    func beginShutdownNow() {
        beginDraining()
        let open = locked.withLock { server -> [Connection] in
            guard server.lifecycle == .running else { return [] }
            server.listener?.stopListening()
            server.acceptSource?.cancel()
            server.acceptSource = nil
            server.listener = nil
            return Array(server.connections.values)
        }
        for connection in open { connection.beginDrain() }
    }

    /// Moves to `stopping` and closes the listener. Returns the open connections, or
    /// `nil` when another shutdown is already under way (or done).
    private func stopAccepting() -> [Connection]? {
        locked.withLock { server in
            switch server.lifecycle {
            case .idle:
                server.lifecycle = .stopped
                return []
            case .running:
                server.lifecycle = .stopping
                server.acceptSource?.cancel()
                server.acceptSource = nil
                server.listener = nil
                return Array(server.connections.values)
            case .stopping, .stopped:
                return nil
            }
        }
    }

    private func openConnections() -> [Connection] {
        locked.withLock { Array($0.connections.values) }
    }

    private func markStopped() {
        let waiters = locked.withLock { server -> [CheckedContinuation<Void, Never>] in
            server.sweeper?.cancel()
            server.sweeper = nil
            server.lifecycle = .stopped
            defer { server.stoppedWaiters.removeAll() }
            return server.stoppedWaiters
        }
        waiters.forEach { $0.resume() }
    }

    /// `shutdown(deadline:)` with a grace period from now.
    public func shutdown(gracePeriod: Duration = .seconds(10)) async {
        await shutdown(deadline: .now + gracePeriod)
    }

    /// Suspends until `shutdown` has completed.
    public func waitUntilStopped() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            addStoppedWaiter(continuation)
        }
    }

    private func addStoppedWaiter(_ continuation: CheckedContinuation<Void, Never>) {
        let stopped = locked.withLock { server in
            if server.lifecycle != .stopped { server.stoppedWaiters.append(continuation) }
            return server.lifecycle == .stopped
        }
        if stopped { continuation.resume() }
    }

    private func waitForAllConnectionsClosed() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            addAllClosedWaiter(continuation)
        }
    }

    private func addAllClosedWaiter(_ continuation: CheckedContinuation<Void, Never>) {
        let allClosed = locked.withLock { server in
            if !server.connections.isEmpty { server.allClosedWaiters.append(continuation) }
            return server.connections.isEmpty
        }
        if allClosed { continuation.resume() }
    }
}
