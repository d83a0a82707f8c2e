import Dispatch
import Foundation
import Logging
import Testing
@testable import HTTPServer
import TestSupport
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

/// Two middlewares that mark their order ("outer", then "inner" in `X-Order`) and the matched
/// route (`X-Route`): the in-process and the socket tests check the same chain.
func routeAndOrderMiddleware() -> [any Middleware] {
    let outer = ClosureMiddleware { request, next in
        var response = try await next(request)
        response.headers.add(name: "X-Route", value: request.route ?? "none")
        response.headers.add(name: "X-Order", value: "outer")
        return response
    }
    let inner = ClosureMiddleware { request, next in
        var response = try await next(request)
        response.headers.add(name: "X-Order", value: "inner")
        return response
    }
    return [outer, inner]
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
