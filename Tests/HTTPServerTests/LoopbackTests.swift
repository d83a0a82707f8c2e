import Foundation
import Testing
@testable import HTTPServer
import TestSupport

@Suite("Loopback: well-behaved clients")
struct LoopbackTests {

    @Test func get_withCurl_returnsBody() async throws {
        try await withServer(router: standardRouter()) { server in
            let result = try await curl(["-i", "http://127.0.0.1:\(server.port)/hello"])
            #expect(result.exitCode == 0)
            #expect(result.stdout.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(result.stdout.contains("Content-Length: 5\r\n"))
            #expect(result.stdout.contains("Connection: keep-alive\r\n"))
            #expect(result.stdout.contains("Date: "))
            #expect(result.stdout.contains("X-Request-Id: "))
            #expect(result.stdout.hasSuffix("\r\n\r\nhello"))
        }
    }

    @Test func postWithBody_isEchoed() async throws {
        try await withServer(router: standardRouter()) { server in
            let payload = String(repeating: "0123456789", count: 20_000)
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("post-\(UUID().uuidString)")
            try payload.write(to: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: file) }
            let result = try await curl(["--data-binary", "@\(file.path)", "http://127.0.0.1:\(server.port)/echo"])
            #expect(result.exitCode == 0)
            #expect(result.stdout == payload)
        }
    }

    @Test func chunkedUpload_withCurl_isDecoded() async throws {
        try await withServer(router: standardRouter()) { server in
            let result = try await curl(["-v", "-H", "Transfer-Encoding: chunked", "--data-binary", "chunked-body",
                                         "http://127.0.0.1:\(server.port)/echo"])
            #expect(result.exitCode == 0)
            #expect(result.stderr.contains("> Transfer-Encoding: chunked"))
            #expect(result.stdout == "chunked-body")
        }
    }

    @Test func keepAlive_reusesTheConnection() async throws {
        try await withServer(router: standardRouter()) { server in
            let url = "http://127.0.0.1:\(server.port)/hello"
            let result = try await curl(["-v", url, url, url])
            #expect(result.stdout == "hellohellohello")
            #expect(result.stderr.components(separatedBy: "Re-using existing connection").count - 1 == 2)
            #expect(result.stderr.components(separatedBy: "Connected to").count - 1 == 1, "\(result.stderr)")
        }
    }

    @Test func keepAlive_overRawSocket_servesSequentialRequests() async throws {
        try await withServer(router: standardRouter()) { server in
            let client = try RawClient(port: server.port)
            for i in 0..<3 {
                try client.send("GET /models/m\(i)/info HTTP/1.1\r\nHost: x\r\n\r\n")
                let response = try await client.readResponse()
                #expect(response.status == 200)
                #expect(response.bodyString == "model=m\(i)")
            }
        }
    }

    @Test func head_hasContentLengthButNoBody() async throws {
        try await withServer(router: standardRouter()) { server in
            let client = try RawClient(port: server.port)
            try client.send("HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            let head = try await client.readResponse(isHead: true)
            #expect(head.status == 200)
            #expect(head.header("Content-Length") == "5")
            // The next response on the same connection must start right after the head.
            try client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            let get = try await client.readResponse()
            #expect(get.bodyString == "hello")
        }
    }

    @Test func expect100Continue_getsInterimResponseBeforeBody() async throws {
        try await withServer(router: standardRouter()) { server in
            let client = try RawClient(port: server.port)
            try client.send("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
            let interim = try await client.readResponse()
            #expect(interim.status == 100)
            try client.send("ping")
            let final = try await client.readResponse()
            #expect(final.status == 200)
            #expect(final.bodyString == "ping")
        }
    }

    @Test func expect100Continue_withOversizedBody_gets413Instead() async throws {
        let config = TestEnv.config { $0.maxBodyBytes = 100 }
        try await withServer(config, router: standardRouter()) { server in
            let client = try RawClient(port: server.port)
            try client.send("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1000\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.status == 413)
            #expect(response.jsonError?.code == 413)
        }
    }

    @Test func streamedResponse_isChunked() async throws {
        try await withServer(router: standardRouter()) { server in
            let client = try RawClient(port: server.port)
            try client.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.header("Transfer-Encoding") == "chunked")
            #expect(response.header("Content-Length") == nil)
            #expect(response.bodyString == "part 0;part 1;part 2;")
            // Still usable afterwards.
            try client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await client.readResponse().bodyString == "hello")
        }
    }

    @Test func largeStreamedResponse_isDeliveredCompletely() async throws {
        var router = Router()
        router.get("/big") { _ in
            HTTPResponse { writer in
                let chunk = [UInt8](repeating: 0x61, count: 64 * 1024)
                for _ in 0..<64 { try await writer.write(chunk) }
            }
        }
        try await withServer(router: router) { server in
            let result = try await curl(["-o", "/dev/null", "-w", "%{size_download}", "http://127.0.0.1:\(server.port)/big"])
            #expect(result.stdout == "\(64 * 64 * 1024)")
        }
    }

    @Test func asyncSequenceBody_isStreamed() async throws {
        var router = Router()
        router.get("/seq") { _ in
            let (stream, continuation) = AsyncStream<[UInt8]>.makeStream()
            for word in ["alpha", "beta", "gamma"] { continuation.yield(Array(word.utf8)) }
            continuation.finish()
            return .stream(stream, headers: ["Content-Type": "text/plain"])
        }
        try await withServer(router: router) { server in
            let client = try RawClient(port: server.port)
            try client.send("GET /seq HTTP/1.1\r\nHost: x\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.header("Transfer-Encoding") == "chunked")
            #expect(response.bodyString == "alphabetagamma")
        }
    }

    @Test func singleHandlerServer_servesEveryPath() async throws {
        let server = HTTPServer(configuration: TestEnv.config(), logger: TestEnv.quietLogger) { request in
            .text("\(request.method) \(request.path) \(request.query["q"] ?? "")")
        }
        try server.start()
        let client = try RawClient(port: server.port)
        try client.send("PUT /any/path?q=a+b HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        #expect(try await client.readResponse().bodyString == "PUT /any/path a b")
        await server.shutdown(gracePeriod: .seconds(1))
    }

    @Test func http10Client_getsCloseByDefault() async throws {
        try await withServer(router: standardRouter()) { server in
            let client = try RawClient(port: server.port)
            try client.send("GET /hello HTTP/1.0\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.status == 200)
            #expect(response.header("Connection") == "close")
            #expect(await client.waitForClose())
        }
    }

    @Test func http10StreamedResponse_isCloseDelimited() async throws {
        try await withServer(router: standardRouter()) { server in
            let client = try RawClient(port: server.port)
            try client.send("GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.header("Transfer-Encoding") == nil)
            #expect(response.header("Connection") == "close")
            #expect(response.bodyString == "part 0;part 1;part 2;")
        }
    }

    @Test func connectionClose_isHonoured() async throws {
        try await withServer(router: standardRouter()) { server in
            let client = try RawClient(port: server.port)
            try client.send("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.header("Connection") == "close")
            #expect(await client.waitForClose())
        }
    }

    @Test func pipelinedRequests_areAnsweredInOrder() async throws {
        var router = Router()
        router.get("/delay/:ms") { request in
            let ms = Int(request.pathParameters["ms"] ?? "0") ?? 0
            try await Task.sleep(for: .milliseconds(ms))
            return .text("slept \(ms)")
        }
        try await withServer(router: router) { server in
            let client = try RawClient(port: server.port)
            try client.send(["60", "0", "30", "1"].map { "GET /delay/\($0) HTTP/1.1\r\nHost: x\r\n\r\n" }.joined())
            var bodies: [String] = []
            for _ in 0..<4 { bodies.append(try await client.readResponse().bodyString) }
            #expect(bodies == ["slept 60", "slept 0", "slept 30", "slept 1"])
        }
    }

    @Test func requestID_isHonouredOrGenerated() async throws {
        var router = Router()
        router.get("/id") { request in .text(request.requestID) }
        try await withServer(router: router) { server in
            let client = try RawClient(port: server.port)
            try client.send("GET /id HTTP/1.1\r\nHost: x\r\nX-Request-Id: abc-123\r\n\r\n")
            let honoured = try await client.readResponse()
            #expect(honoured.header("X-Request-Id") == "abc-123")
            #expect(honoured.bodyString == "abc-123")
            try client.send("GET /id HTTP/1.1\r\nHost: x\r\nX-Request-Id: bad id with spaces\r\n\r\n")
            let generated = try await client.readResponse()
            #expect(generated.header("X-Request-Id") != "bad id with spaces")
            #expect(generated.header("X-Request-Id") == generated.bodyString)
        }
    }

    @Test func ipv6Loopback_isServed() async throws {
        let config = TestEnv.config { $0.host = "::1" }
        try await withServer(config, router: standardRouter()) { server in
            let client = try RawClient(port: server.port, host: "::1")
            try client.send("GET /hello HTTP/1.1\r\nHost: [::1]\r\n\r\n")
            #expect(try await client.readResponse().bodyString == "hello")
        }
    }

    @Test func dualStackWildcard_servesIPv4AndIPv6() async throws {
        let config = TestEnv.config { $0.host = "::" }
        try await withServer(config, router: standardRouter()) { server in
            for host in ["127.0.0.1", "::1"] {
                let client = try RawClient(port: server.port, host: host)
                try client.send("GET /hello HTTP/1.1\r\nHost: h\r\n\r\n")
                #expect(try await client.readResponse().bodyString == "hello")
            }
        }
    }

    @Test func slowHandler_doesNotBlockOtherConnections() async throws {
        let gate = Gate()
        var router = Router()
        router.get("/slow") { _ in
            await gate.wait()
            return .text("slow")
        }
        router.get("/fast") { _ in .text("fast") }
        try await withServer(router: router) { server in
            let slow = try RawClient(port: server.port)
            try slow.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
            let fast = try RawClient(port: server.port)
            try fast.send("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await fast.readResponse().bodyString == "fast")
            await gate.open()
            #expect(try await slow.readResponse().bodyString == "slow")
        }
    }

    @Test func handlerErrors_becomeJSON() async throws {
        struct Opaque: Error {}
        var router = Router()
        router.get("/conflict") { _ in throw HTTPError(.conflict, "model \"x\" is busy") }
        router.get("/opaque") { _ in throw Opaque() }
        try await withServer(router: router) { server in
            let client = try RawClient(port: server.port)
            try client.send("GET /conflict HTTP/1.1\r\nHost: x\r\n\r\n")
            let conflict = try await client.readResponse()
            #expect(conflict.status == 409)
            #expect(conflict.header("Content-Type") == "application/json")
            #expect(conflict.jsonError?.message == "model \"x\" is busy")
            try client.send("GET /opaque HTTP/1.1\r\nHost: x\r\n\r\n")
            let opaque = try await client.readResponse()
            #expect(opaque.status == 500)
            #expect(opaque.jsonError?.message == "internal server error")
        }
    }

    @Test func router404And405_areJSONWithAllow() async throws {
        try await withServer(router: standardRouter()) { server in
            let client = try RawClient(port: server.port)
            try client.send("GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n")
            let notFound = try await client.readResponse()
            #expect(notFound.status == 404)
            #expect(notFound.jsonError?.code == 404)
            try client.send("DELETE /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            let notAllowed = try await client.readResponse()
            #expect(notAllowed.status == 405)
            #expect(notAllowed.header("Allow") == "GET, HEAD")
            #expect(notAllowed.jsonError?.code == 405)
        }
    }

    @Test func responseSplittingHeaders_areDropped() async throws {
        var router = Router()
        router.get("/h") { request in
            HTTPResponse(headers: ["X-Echo": request.query["v"] ?? "", "X-Safe": "ok", "Content-Length": "999"],
                         body: Array("b".utf8))
        }
        try await withServer(router: router) { server in
            let client = try RawClient(port: server.port)
            try client.send("GET /h?v=a%0d%0aSet-Cookie:%20x HTTP/1.1\r\nHost: x\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.header("X-Echo") == nil)
            #expect(response.header("Set-Cookie") == nil)
            #expect(response.header("X-Safe") == "ok")
            #expect(response.header("Content-Length") == "1")
        }
    }
}

/// A one-shot gate a handler can wait on.
actor Gate {
    private var isOpen = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func wait() async {
        if isOpen { return }
        await withCheckedContinuation { waiters.append($0) }
    }

    func open() {
        isOpen = true
        waiters.forEach { $0.resume() }
        waiters.removeAll()
    }
}
