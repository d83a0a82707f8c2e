import Dispatch
import Foundation
import Logging
import Testing
@testable import HTTPServer
#if canImport(Glibc)
import Glibc
#endif

// MARK: - Server fixtures

enum TestEnv {
    /// Port 0 so tests run in parallel. Timeouts are generous (a loaded 2-core CI machine can
    /// stall a client for seconds); the limit tests that exercise a timeout set a short one.
    static func config(_ modify: (inout HTTPServer.Configuration) -> Void = { _ in }) -> HTTPServer.Configuration {
        var config = HTTPServer.Configuration(host: "127.0.0.1", port: 0)
        config.headerTimeout = .seconds(20)
        config.bodyTimeout = .seconds(20)
        config.idleTimeout = .seconds(20)
        config.writeTimeout = .seconds(20)
        config.lingerTimeout = .seconds(1)
        config.ioQueueCount = 2
        modify(&config)
        return config
    }

    static var quietLogger: Logger {
        var logger = Logger(label: "test.http")
        logger.logLevel = .critical
        return logger
    }
}

/// Starts a server, runs `body`, and always shuts the server down.
func withServer(_ config: HTTPServer.Configuration = TestEnv.config(), router: Router,
                middleware: [any Middleware] = [], logger: Logger = TestEnv.quietLogger,
                _ body: (HTTPServer) async throws -> Void) async throws {
    let server = HTTPServer(configuration: config, router: router, middleware: middleware, logger: logger)
    try server.start()
    do {
        try await body(server)
    } catch {
        await server.shutdown(gracePeriod: .seconds(1))
        throw error
    }
    await server.shutdown(gracePeriod: .seconds(1))
}

/// The router most loopback tests use.
func standardRouter() -> Router {
    var router = Router()
    router.get("/hello") { _ in .text("hello") }
    router.post("/echo") { request in
        HTTPResponse(headers: ["Content-Type": "application/octet-stream"], body: request.body)
    }
    router.get("/models/:name/info") { request in .text("model=\(request.pathParameters["name"] ?? "")") }
    router.get("/stream") { _ in
        HTTPResponse { writer in
            for i in 0..<3 { try await writer.write("part \(i);") }
        }
    }
    return router
}

/// Runs blocking work on a plain thread: the cooperative pool has only as many threads
/// as cores, and a blocked test thread must never starve the server's handlers.
func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result { try work() })
        }
    }
}

// MARK: - Raw socket client

struct ClientError: Error, CustomStringConvertible {
    let description: String
}

/// A blocking HTTP/1.1 client over a raw socket, for byte-exact malformed input.
final class RawClient: @unchecked Sendable {
    private let fd: Int32
    private var buffer: [UInt8] = []
    private let lock = NSLock()

    init(port: UInt16, host: String = "127.0.0.1", timeout: Double = 30) throws {
        let isV6 = host.contains(":")
        fd = socket(isV6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ClientError(description: "socket failed") }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let rc: Int32
        if isV6 {
            var addr = sockaddr_in6()
            addr.sin6_family = sa_family_t(AF_INET6)
            addr.sin6_port = port.bigEndian
            inet_pton(AF_INET6, host, &addr.sin6_addr)
            rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        } else {
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = port.bigEndian
            inet_pton(AF_INET, host, &addr.sin_addr)
            rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        // No close(fd) here: `fd` is initialised, so deinit runs even when init throws,
        // and a second close could hit a descriptor another test has just been given.
        guard rc == 0 else { throw ClientError(description: "connect failed: errno \(errno)") }
    }

    deinit { if fd >= 0 { close(fd) } }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw ClientError(description: "send failed: errno \(errno)") }
            offset += n
        }
    }

    func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    /// Reads one response (interim 1xx responses are returned as such).
    func readResponse(isHead: Bool = false) async throws -> RawResponse {
        try await offPool { try self.readResponseBlocking(isHead: isHead) }
    }

    /// `true` if the server closes the connection (EOF or reset) within the timeout.
    func waitForClose() async -> Bool {
        (try? await offPool { () -> Bool in
            self.lock.lock()
            defer { self.lock.unlock() }
            var scratch = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = recv(self.fd, &scratch, scratch.count, 0)
                if n == 0 { return true }
                if n < 0 { return errno == ECONNRESET }
            }
        }) ?? false
    }

    // MARK: Blocking parsing

    private func fill() throws {
        var scratch = [UInt8](repeating: 0, count: 16384)
        let n = recv(fd, &scratch, scratch.count, 0)
        if n > 0 {
            buffer += scratch[0..<n]
        } else if n == 0 {
            throw ClientError(description: "connection closed by server")
        } else {
            throw ClientError(description: errno == EAGAIN ? "timed out reading" : "recv failed: errno \(errno)")
        }
    }

    private func readLine() throws -> String {
        while true {
            if let i = buffer.firstIndex(of: 0x0A) {
                let line = buffer[..<i]
                buffer.removeFirst(i + 1)
                return String(decoding: line.last == 0x0D ? line.dropLast() : line, as: UTF8.self)
            }
            try fill()
        }
    }

    private func readBytes(_ count: Int) throws -> [UInt8] {
        while buffer.count < count { try fill() }
        let out = Array(buffer[..<count])
        buffer.removeFirst(count)
        return out
    }

    private func readResponseBlocking(isHead: Bool) throws -> RawResponse {
        lock.lock()
        defer { lock.unlock() }
        let statusLine = try readLine()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let status = Int(parts[1]) else {
            throw ClientError(description: "bad status line: \(statusLine)")
        }
        var headers: [(String, String)] = []
        while true {
            let line = try readLine()
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { throw ClientError(description: "bad header \(line)") }
            headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        var response = RawResponse(status: status, headers: headers, body: [])
        if (100..<200).contains(status) || status == 204 || status == 304 || isHead { return response }
        if let length = response.header("Content-Length").flatMap(Int.init) {
            response.body = try readBytes(length)
        } else if response.header("Transfer-Encoding")?.lowercased() == "chunked" {
            while true {
                let sizeLine = try readLine()
                guard let size = Int(sizeLine.split(separator: ";")[0], radix: 16) else {
                    throw ClientError(description: "bad chunk size \(sizeLine)")
                }
                if size == 0 {
                    while try !readLine().isEmpty {}
                    break
                }
                response.body += try readBytes(size)
                _ = try readLine()
            }
        } else {
            while true {
                do { try fill() } catch { break }
            }
            response.body = buffer
            buffer.removeAll()
        }
        return response
    }
}

struct RawResponse: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    var bodyString: String { String(decoding: body, as: UTF8.self) }

    /// `error.code` and `error.message` of a JSON error body.
    var jsonError: (code: Int, message: String)? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
              let error = object["error"] as? [String: Any],
              let code = error["code"] as? Int, let message = error["message"] as? String else { return nil }
        return (code, message)
    }
}

// MARK: - curl

struct CurlResult: Sendable {
    var exitCode: Int32
    var stdout: String
    var stderr: String
}

/// Runs `curl` with `arguments` (off the cooperative pool).
func curl(_ arguments: [String]) async throws -> CurlResult {
    try await offPool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["--silent", "--show-error", "--max-time", "30"] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CurlResult(exitCode: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                          stderr: String(decoding: stderr, as: UTF8.self))
    }
}

// MARK: - Log capture

/// A `LogHandler` that records every message with its merged metadata.
final class CapturingLogHandler: LogHandler, @unchecked Sendable {
    final class Store: @unchecked Sendable {
        private let lock = NSLock()
        private var records: [(message: String, metadata: [String: String])] = []

        func append(_ message: String, _ metadata: [String: String]) {
            lock.lock()
            records.append((message, metadata))
            lock.unlock()
        }

        var all: [(message: String, metadata: [String: String])] {
            lock.lock()
            defer { lock.unlock() }
            return records
        }
    }

    let store: Store
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    init(store: Store) { self.store = store }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged: [String: String] = [:]
        for (key, value) in metadata { merged[key] = "\(value)" }
        for (key, value) in event.metadata ?? [:] { merged[key] = "\(value)" }
        store.append("\(event.message)", merged)
    }
}
