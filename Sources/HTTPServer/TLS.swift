import COpenSSL
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - TLSConfiguration

/// Certificate and key for serving HTTPS. TLS 1.2 is the minimum protocol version.
public struct TLSConfiguration: Sendable, Hashable {
    /// PEM file with the server certificate, optionally followed by its chain.
    public var certificatePath: String
    /// PEM file with the private key matching the certificate.
    public var privateKeyPath: String

    public init(certificatePath: String, privateKeyPath: String) {
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
    }
}

// MARK: - TLSError

/// An OpenSSL failure, with the library's error queue rendered into `message`.
public struct TLSError: Error, Sendable, CustomStringConvertible {
    public let operation: String
    public let message: String

    /// Drains OpenSSL's (thread-local) error queue into a readable message.
    static func fromErrorQueue(_ operation: String) -> TLSError {
        var reasons: [String] = []
        while case let code = ERR_get_error(), code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return TLSError(operation: operation, message: reasons.isEmpty ? "unknown error" : reasons.joined(separator: "; "))
    }

    public var description: String { "\(operation) failed: \(message)" }
}

// MARK: - TLSContext

/// A configured `SSL_CTX`, shared by every connection's session.
// Why unchecked: wraps an `SSL_CTX` pointer that OpenSSL allows to share between threads once configured.
final class TLSContext: @unchecked Sendable {
    private let context: OpaquePointer

    init(configuration: TLSConfiguration) throws(TLSError) {
        ERR_clear_error()
        guard let method = TLS_server_method(), let context = SSL_CTX_new(method) else {
            throw .fromErrorQueue("SSL_CTX_new")
        }
        self.context = context
        guard vg_ssl_ctx_set_min_tls12(context) == 1 else { throw .fromErrorQueue("SSL_CTX_set_min_proto_version") }
        _ = vg_ssl_ctx_set_mode_partial_write(context)
        guard SSL_CTX_use_certificate_chain_file(context, configuration.certificatePath) == 1 else {
            throw .fromErrorQueue("loading certificate \(configuration.certificatePath)")
        }
        guard SSL_CTX_use_PrivateKey_file(context, configuration.privateKeyPath, SSL_FILETYPE_PEM) == 1 else {
            throw .fromErrorQueue("loading private key \(configuration.privateKeyPath)")
        }
        guard SSL_CTX_check_private_key(context) == 1 else {
            throw .fromErrorQueue("checking that the private key matches the certificate")
        }
    }

    deinit { SSL_CTX_free(context) }

    /// A server-side session on an accepted, non-blocking socket. The handshake happens
    /// lazily inside the first `read`.
    func makeSession(for socket: Socket) throws(TLSError) -> TLSSession {
        ERR_clear_error()
        guard let ssl = SSL_new(context) else { throw .fromErrorQueue("SSL_new") }
        guard SSL_set_fd(ssl, socket.fd) == 1 else {
            SSL_free(ssl)
            throw .fromErrorQueue("SSL_set_fd")
        }
        SSL_set_accept_state(ssl)
        return TLSSession(ssl: ssl)
    }
}

// MARK: - TLSSession

/// One connection's `SSL` object. Not thread-safe: the owning `Connection` only touches
/// it inside its `io` mutex (`Transport`). The error queue is cleared before every call because it
/// is per-thread and connections hop between threads.
final class TLSSession {
    private let ssl: OpaquePointer

    init(ssl: OpaquePointer) { self.ssl = ssl }

    deinit { SSL_free(ssl) }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> Socket.IOResult {
        ERR_clear_error()
        let n = SSL_read(ssl, buffer.baseAddress, Int32(clamping: buffer.count))
        return n > 0 ? .bytes(Int(n)) : outcome(of: n, "SSL_read")
    }

    func write(_ buffer: UnsafeRawBufferPointer) -> Socket.IOResult {
        ERR_clear_error()
        let n = SSL_write(ssl, buffer.baseAddress, Int32(clamping: buffer.count))
        return n > 0 ? .bytes(Int(n)) : outcome(of: n, "SSL_write")
    }

    /// Whether the handshake has finished (it runs inside the first reads).
    var isHandshakeComplete: Bool { SSL_is_init_finished(ssl) == 1 }

    /// Decrypted bytes held inside OpenSSL that a socket readiness event will not announce.
    var hasBufferedPlaintext: Bool { SSL_pending(ssl) > 0 }

    /// Sends close_notify (best effort; the socket is closed right after).
    func shutdown() {
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
    }

    private func outcome(of result: Int32, _ operation: String) -> Socket.IOResult {
        let savedErrno = errno
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            return .wouldBlock
        case SSL_ERROR_ZERO_RETURN:
            return .eof
        case SSL_ERROR_SYSCALL:
            ERR_clear_error()
            if savedErrno == 0 || savedErrno == ECONNRESET || savedErrno == EPIPE { return .eof }
            return .failed(SocketError(operation, code: savedErrno))
        default:
            let error = TLSError.fromErrorQueue(operation)
            return .failed(SocketError(operation, code: 0, message: error.message))
        }
    }
}
