import Foundation
import Logging
import Testing
@testable import HTTPServer
import TestSupport

/// Rejects requests without the right key; shows a middleware answering by itself.
struct APIKeyMiddleware: Middleware {
    let key: String
    func handle(_ request: HTTPRequest, next: HTTPHandler) async throws -> HTTPResponse {
        guard request.headers["X-API-Key"] == key else { throw HTTPError(.unauthorized, "missing or wrong API key") }
        return try await next(request)
    }
}

@Suite("Middleware and access log")
struct MiddlewareAndLoggingTests {

    @Test func middleware_wrapsHandlersInOrderAndSeesTheRoute() async throws {
        try await withServer(router: standardRouter(), middleware: routeAndOrderMiddleware()) { server in
            let client = try RawClient(port: server.port)
            try client.send("GET /models/abc/info HTTP/1.1\r\nHost: x\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.bodyString == "model=abc")
            #expect(response.header("X-Route") == "/models/:name/info")
            #expect(response.headers.filter { $0.0 == "X-Order" }.map(\.1) == ["inner", "outer"])
        }
    }

    @Test func authMiddleware_shortCircuitsWithJSON401() async throws {
        try await withServer(router: standardRouter(), middleware: [APIKeyMiddleware(key: "k1")]) { server in
            let client = try RawClient(port: server.port)
            try client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            let denied = try await client.readResponse()
            #expect(denied.status == 401)
            #expect(denied.jsonError?.message == "missing or wrong API key")
            try client.send("GET /hello HTTP/1.1\r\nHost: x\r\nX-API-Key: k1\r\n\r\n")
            #expect(try await client.readResponse().bodyString == "hello")
        }
    }

    @Test func middleware_canCatchNotFound() async throws {
        let catcher = ClosureMiddleware { request, next in
            do { return try await next(request) } catch let error as HTTPError where error.status == .notFound {
                return .text("custom 404", status: .notFound)
            }
        }
        try await withServer(router: standardRouter(), middleware: [catcher]) { server in
            let client = try RawClient(port: server.port)
            try client.send("GET /missing HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await client.readResponse().bodyString == "custom 404")
        }
    }

    @Test func accessLog_hasFieldsButNoSecrets() async throws {
        let store = CapturingLogHandler.Store()
        var logger = Logger(label: "access") { _ in CapturingLogHandler(store: store) }
        logger.logLevel = .info
        try await withServer(router: standardRouter(), logger: logger) { server in
            let client = try RawClient(port: server.port)
            try client.send("POST /echo?token=querysecret HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok-SECRET\r\n"
                            + "X-API-Key: key-SECRET\r\nX-Request-Id: req-42\r\nContent-Length: 11\r\n\r\nbody-SECRET")
            #expect(try await client.readResponse().status == 200)
        }
        let records = store.all
        let access = try #require(records.first { $0.metadata["request_id"] == "req-42" })
        #expect(access.metadata["method"] == "POST")
        #expect(access.metadata["path"] == "/echo")
        #expect(access.metadata["status"] == "200")
        #expect(access.metadata["bytes"] == "11")
        #expect(access.metadata["duration_ms"].flatMap(Double.init) != nil)
        #expect(access.metadata["remote"]?.hasPrefix("127.0.0.1:") == true)
        let everything = records.map { $0.message + $0.metadata.description }.joined()
        #expect(!everything.contains("SECRET"))
        #expect(!everything.contains("querysecret"))
    }
}
