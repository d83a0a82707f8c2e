import Foundation
import HTTPServer
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// One keep-alive HTTP/1.1 request/response on loopback: `HTTPServer` on 127.0.0.1:0 with a
/// trivial route, and a blocking raw-socket client that sends `GET /ping` and reads exactly one
/// response (head + Content-Length body) per iteration.
public enum HTTPRoundTrip {
    public static var workload: Workload {
        Workload(name: "HTTP GET round trip (keep-alive, loopback)", group: .http) {
            let client = Unchecked(value: start())
            return { client.value.roundTrip() }
        }
    }

    /// Starts a server (kept for the life of the process) and connects a client to it.
    static func start() -> RawHTTPClient {
        var router = Router()
        router.get("/ping") { _ in .text("pong") }
        var config = HTTPServer.Configuration(host: "127.0.0.1", port: 0)
        config.accessLogLevel = .trace
        var logger = Logger(label: "bench.http")
        logger.logLevel = .critical
        let server = HTTPServer(configuration: config, router: router, logger: logger)
        try! server.start()
        servers.append(Unchecked(value: server))
        let client = try! RawHTTPClient(port: server.port)
        client.roundTrip()   // connection set up, first request done
        return client
    }

    nonisolated(unsafe) static var servers: [Unchecked<HTTPServer>] = []
}

final class RawHTTPClient {
    let fd: Int32
    var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    let request = Array("GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n".utf8)

    init(port: UInt16) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { throw POSIXError(.ECONNREFUSED) }
    }

    deinit { close(fd) }

    /// Sends one request and reads one full response.
    func roundTrip() {
        let sent = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        precondition(sent == request.count, "send failed")
        var have = 0
        var needed = Int.max
        while have < needed {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + have, $0.count - have, 0) }
            precondition(n > 0, "connection closed")
            have += n
            if needed == .max, let end = headEnd(have) {
                needed = end + contentLength(headBytes: end)
            }
        }
    }

    private func headEnd(_ count: Int) -> Int? {
        guard count >= 4 else { return nil }
        for i in 0...(count - 4) where buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 {
            return i + 4
        }
        return nil
    }

    private func contentLength(headBytes: Int) -> Int {
        let head = String(decoding: buffer[0..<headBytes], as: UTF8.self).lowercased()
        guard let range = head.range(of: "content-length:") else { return 0 }
        let rest = head[range.upperBound...].prefix { $0 != "\r" }
        return Int(rest.trimmingCharacters(in: .whitespaces)) ?? 0
    }
}
