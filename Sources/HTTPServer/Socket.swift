#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Socket

/// A non-owning handle to a socket file descriptor with the few calls the server needs.
///
/// It is a value so it can be passed freely; *ownership* (who closes it, when) belongs
/// to the listener or to the `Connection`, which close it exactly once after their
/// dispatch sources are cancelled, so a descriptor number is never reused under a source.
struct Socket: Sendable, Hashable {
    let fd: Int32

    /// Outcome of a non-blocking read or write.
    enum IOResult: Sendable {
        case bytes(Int)
        case wouldBlock
        case eof
        case failed(SocketError)
    }

    // MARK: - Listening

    /// Resolves `host` (numeric or name; `""`, `"*"` and `"::"` mean every IPv4 and IPv6
    /// address) and binds the first address that works, with `SO_REUSEADDR` so a restart
    /// does not wait out TIME_WAIT.
    static func listen(host: String, port: UInt16, backlog: Int32) throws(SocketError) -> Socket {
        let wildcard = host.isEmpty || host == "*" || host == "::"
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        hints.ai_family = wildcard ? AF_INET6 : AF_UNSPEC
        hints.ai_socktype = socketStream
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(wildcard ? nil : host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            throw SocketError("getaddrinfo(\(host))", code: 0, message: String(cString: gai_strerror(rc)))
        }
        defer { freeaddrinfo(list) }

        var lastError = SocketError("bind(\(host):\(port))", code: EADDRNOTAVAIL)
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            cursor = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, socketStream | socketCloexec, 0)
            guard fd >= 0 else { lastError = .lastError("socket"); continue }
            let sock = Socket(fd: fd)
            do throws(SocketError) {
                try sock.setOption(SOL_SOCKET, SO_REUSEADDR, 1, "setsockopt(SO_REUSEADDR)")
                if info.pointee.ai_family == AF_INET6 {
                    // Dual-stack for the wildcard address; v6-only for a specific v6 address.
                    try sock.setOption(Int32(IPPROTO_IPV6), IPV6_V6ONLY, wildcard ? 0 : 1, "setsockopt(IPV6_V6ONLY)")
                }
                guard bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
                    throw SocketError.lastError("bind(\(host):\(port))")
                }
                guard Glibc.listen(fd, backlog) == 0 else { throw SocketError.lastError("listen") }
                try sock.setNonBlocking()
                return sock
            } catch {
                lastError = error
                sock.close()
            }
        }
        throw lastError
    }

    // MARK: - Options

    func setOption(_ level: Int32, _ name: Int32, _ value: Int32, _ what: String) throws(SocketError) {
        var v = value
        guard setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            throw SocketError.lastError(what)
        }
    }

    func setNonBlocking() throws(SocketError) {
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 else {
            throw SocketError.lastError("fcntl(O_NONBLOCK)")
        }
    }

    /// Disables Nagle: responses are written whole, and waiting 40 ms for an ACK before
    /// sending the body after a `100 Continue` would be pure latency.
    func setNoDelay() {
        try? setOption(Int32(IPPROTO_TCP), TCP_NODELAY, 1, "setsockopt(TCP_NODELAY)")
    }

    // MARK: - Accepting

    /// Accepts one pending connection as a non-blocking socket, or `nil` when none is pending.
    func accept() throws(SocketError) -> (Socket, String)? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        while true {
            let client = withUnsafeMutablePointer(to: &storage) { ptr in
                ptr.withMemoryRebound(to: sockaddr.self, capacity: 1) { addr in
                    Glibc.accept(fd, addr, &length)
                }
            }
            if client >= 0 {
                // Accepted sockets do not inherit O_NONBLOCK on Linux (and accept4 is not
                // visible to Swift's Glibc module), so set both flags explicitly.
                let socket = Socket(fd: client)
                _ = fcntl(client, F_SETFD, FD_CLOEXEC)
                do throws(SocketError) {
                    try socket.setNonBlocking()
                } catch {
                    socket.close()
                    throw error
                }
                return (socket, Self.describe(&storage))
            }
            let error = errno
            switch error {
            case EAGAIN, EWOULDBLOCK: return nil
            case EINTR, ECONNABORTED, EPROTO: continue
            default: throw SocketError("accept", code: error)
            }
        }
    }

    // MARK: - I/O

    func read(into buffer: UnsafeMutableRawBufferPointer) -> IOResult {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n > 0 { return .bytes(n) }
            if n == 0 { return .eof }
            let error = errno
            switch error {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            case ECONNRESET: return .eof
            default: return .failed(SocketError("read", code: error))
            }
        }
    }

    /// `send` with `MSG_NOSIGNAL`, so a peer that went away yields `EPIPE`, not `SIGPIPE`.
    func write(_ buffer: UnsafeRawBufferPointer) -> IOResult {
        while true {
            let n = send(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL))
            if n >= 0 { return .bytes(n) }
            let error = errno
            switch error {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            default: return .failed(SocketError("send", code: error))
            }
        }
    }

    func shutdownWrite() { _ = Glibc.shutdown(fd, Int32(SHUT_WR)) }

    func close() { _ = Glibc.close(fd) }

    /// On a listening socket (Linux): stop listening now, so new connections are refused,
    /// while the descriptor stays valid until its dispatch source's cancel handler closes it.
    func stopListening() { _ = Glibc.shutdown(fd, Int32(SHUT_RD)) }

    // MARK: - Addresses

    /// The port the socket is bound to (useful after binding port 0).
    func localPort() throws(SocketError) -> UInt16 {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) { ptr in
            ptr.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard rc == 0 else { throw SocketError.lastError("getsockname") }
        return Self.port(of: &storage)
    }

    static func port(of storage: inout sockaddr_storage) -> UInt16 {
        withUnsafePointer(to: &storage) { ptr in
            if Int32(ptr.pointee.ss_family) == AF_INET6 {
                return ptr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
            }
            return ptr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
    }

    /// `1.2.3.4:port` or `[::1]:port`.
    static func describe(_ storage: inout sockaddr_storage) -> String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let port = port(of: &storage)
        return withUnsafePointer(to: &storage) { ptr -> String in
            if Int32(ptr.pointee.ss_family) == AF_INET6 {
                return ptr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                    var addr = sin6.pointee.sin6_addr
                    inet_ntop(AF_INET6, &addr, &text, socklen_t(text.count))
                    return "[\(Self.string(text))]:\(port)"
                }
            }
            return ptr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                var addr = sin.pointee.sin_addr
                inet_ntop(AF_INET, &addr, &text, socklen_t(text.count))
                return "\(Self.string(text)):\(port)"
            }
        }
    }

    private static func string(_ cString: [CChar]) -> String {
        String(decoding: cString.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

// MARK: - Platform constants

#if os(Linux)
let socketStream = Int32(SOCK_STREAM.rawValue)
let socketCloexec = Int32(SOCK_CLOEXEC.rawValue)
#endif
