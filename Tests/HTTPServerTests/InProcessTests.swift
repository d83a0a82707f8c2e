import Foundation
import Testing
@testable import HTTPServer

/// `HTTPServer.respondInProcess`: what a connection would answer, without a socket. The
/// server is never started; each check is the in-process twin of a loopback test.
@Suite("In-process responses")
struct InProcessTests {

    static func server(middleware: [any Middleware] = []) -> HTTPServer {
        HTTPServer(configuration: TestEnv.config(), router: standardRouter(), middleware: middleware,
                   logger: TestEnv.quietLogger)
    }

    static func body(_ response: HTTPResponse) -> String { String(decoding: response.bodyBytes ?? [], as: UTF8.self) }

    @Test func routesAndRunsMiddleware_inOrder_withTheMatchedRoute() async throws {
        let server = Self.server(middleware: routeAndOrderMiddleware())
        let response = try await server.respondInProcess(to: HTTPRequest(method: .get, target: "/models/abc/info"))
        #expect(response.status == .ok)
        #expect(Self.body(response) == "model=abc")
        #expect(response.headers["X-Route"] == "/models/:name/info")
        #expect(response.headers.values(for: "X-Order") == ["inner", "outer"])
        #expect(response.headers["Content-Length"] == "9")
    }

    @Test func unmatchedAndWrongMethod_areJSONErrors() async throws {
        let server = Self.server()
        let missing = try await server.respondInProcess(to: HTTPRequest(method: .get, target: "/nope"))
        #expect(missing.status == .notFound)
        #expect(Self.body(missing).contains(#""code":404"#))
        let wrong = try await server.respondInProcess(to: HTTPRequest(method: .delete, target: "/hello"))
        #expect(wrong.status.code == 405)
        #expect(wrong.headers["Allow"] != nil)
    }

    @Test func streamedBody_isCollected() async throws {
        let response = try await Self.server().respondInProcess(to: HTTPRequest(method: .get, target: "/stream"))
        #expect(Self.body(response) == "part 0;part 1;part 2;")
        #expect(response.headers["Content-Length"] == "21")
    }

    @Test func head_announcesTheLengthButHasNoBody() async throws {
        let response = try await Self.server().respondInProcess(to: HTTPRequest(method: .head, target: "/hello"))
        #expect(response.status == .ok)
        #expect(response.headers["Content-Length"] == "5")
        #expect(response.bodyBytes == [])
    }

    @Test func requestID_isHonouredOrGenerated_andEchoed() async throws {
        let server = Self.server()
        let given = try await server.respondInProcess(to: HTTPRequest(method: .get, target: "/hello",
                                                                      headers: ["X-Request-Id": "abc-123"]))
        #expect(given.headers["X-Request-Id"] == "abc-123")
        let generated = try await server.respondInProcess(to: HTTPRequest(method: .get, target: "/hello"))
        #expect(generated.headers["X-Request-Id"]?.isEmpty == false)
        #expect(generated.headers.values(for: "X-Request-Id").count == 1)
    }
}
