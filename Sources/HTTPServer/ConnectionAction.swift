// MARK: - ConnectionAction

/// Work a `ConnectionState` transition asks for, run by the `Connection` after it has
/// released the state's lock: socket I/O, starting and cancelling handlers, resuming
/// waiting writers, logging, and telling the server.
enum ConnectionAction: Sendable {
    /// Become writer `id`: send queued output (`ConnectionState.nextOutput`) until it is
    /// drained or the socket is full. Only one writer is handed out at a time.
    case write(id: Int)
    /// The last response is out: send TLS close_notify and shut down the write side.
    case shutdownWrite
    /// Run the handler for `request`; report the task with `handlerStarted(_:generation:)`.
    case dispatch(ParsedRequest, keepAlive: Bool, generation: Int)
    /// Cancel the running handler: the client went away or the connection closed.
    case cancelHandler(Task<Void, Never>)
    /// Resume streaming writers that waited for the send buffer to drain (throwing
    /// `ConnectionClosedError` when `closed`).
    case resumeWriters([CheckedContinuation<Void, any Error>], closed: Bool)
    /// Read again soon: OpenSSL may hold decrypted bytes that no readiness event announces.
    case scheduleRead
    /// Log the access line of a response the server made itself (parse error, timeout, 503).
    case logFailure(status: Int)
    /// Log that the request-memory budget had no room for what this connection holds.
    case logBudgetExhausted(heldBytes: Int)
    /// The connection has closed: the server forgets it.
    case closed
}

extension ConnectionAction {
    /// Whether this is `.closed` (tests and the shell look for it).
    var isClosed: Bool { if case .closed = self { true } else { false } }
}
