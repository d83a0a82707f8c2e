import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Transport

/// The socket and its TLS session. Every read, write, shutdown and the final close go
/// through the connection's `io` mutex: an `SSL` object is not thread-safe, and a write
/// must never reach a descriptor number the kernel has already handed to someone else.
struct Transport {
    let socket: Socket
    private(set) var tls: TLSSession?
    private(set) var isClosed = false

    init(socket: Socket, tls: consuming sending TLSSession?) {
        self.socket = socket
        self.tls = tls
    }

    /// Reads decrypted (or plain) bytes into `loop.readBuffer` (the caller runs on `loop`);
    /// `more` says OpenSSL holds plaintext already.
    func read(into loop: IOLoop) -> (result: Socket.IOResult, more: Bool) {
        guard !isClosed else { return (.eof, false) }
        let buffer = loop.readBuffer
        let result = tls?.read(into: buffer) ?? socket.read(into: buffer)
        return (result, tls?.hasBufferedPlaintext ?? false)
    }

    /// Reads raw bytes to throw away (lingering after the write side was shut down).
    func discard(into loop: IOLoop) -> Socket.IOResult {
        isClosed ? .eof : socket.read(into: loop.readBuffer)
    }

    func write(_ buffer: UnsafeRawBufferPointer) -> Socket.IOResult {
        guard !isClosed else { return .eof }
        return tls?.write(buffer) ?? socket.write(buffer)
    }

    /// Whether the TLS handshake has finished (always true without TLS).
    var isHandshakeComplete: Bool { tls?.isHandshakeComplete ?? true }

    /// TLS close_notify, then shut down the write side.
    func shutdownWrite() {
        guard !isClosed else { return }
        tls?.shutdown()
        socket.shutdownWrite()
    }

    /// Closes the descriptor exactly once: a second close could hit a number the kernel
    /// has already handed to another connection.
    mutating func close() {
        guard !isClosed else { return }
        isClosed = true
        tls = nil
        socket.close()
    }

    /// Asks the kernel whether the peer has closed (`POLLRDHUP` is set even when unread
    /// bytes are queued).
    func peerHasClosed() -> Bool {
        guard !isClosed else { return false }
        var fds = pollfd(fd: socket.fd, events: Self.pollPeerClosed, revents: 0)
        guard poll(&fds, 1, 0) == 1 else { return false }
        return fds.revents & (Self.pollPeerClosed | Int16(POLLHUP) | Int16(POLLERR)) != 0
    }

    /// `POLLRDHUP` (Linux; Glibc only exports it under `_GNU_SOURCE`), else `POLLHUP`.
    #if os(Linux)
    static let pollPeerClosed: Int16 = 0x2000
    #else
    static let pollPeerClosed = Int16(POLLHUP)
    #endif
}

// MARK: - Dispatch sources

/// The connection's read and write sources and how they stand. Kept beside the
/// `ConnectionState` in the same mutex and brought in line with it after every transition
/// (`Connection.reconcile`), so suspend and resume calls always pair up.
struct ConnectionSources {
    var read: (any DispatchSourceRead)?
    var readSuspended = true
    var readCancelled = false
    var write: (any DispatchSourceWrite)?
    var writeSuspended = true
    var writeCancelled = false
    /// Sources whose cancel handler has not run yet.
    var live = 0
    var descriptorReleased = false
}
