import Testing
@testable import HTTPServer
import TestSupport

/// Raw byte streams the server must refuse with the right JSON error, closing that
/// connection and continuing to serve others.
@Suite("Loopback: malformed requests")
struct MalformedRequestTests {
    static let cases: [(String, Int)] = [
        ("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef", 400),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXX", 400),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHo(st: x\r\n\r\n", 400),
        ("GET / HTTP/1.1\nHost: x\n\n", 400),
        ("GET / HTTP/1.1\r\n\r\n", 400),
        ("GET / HTTP/3.0\r\nHost: x\r\n\r\n", 505),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
        ("POST / HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\nx", 417),
        ("NOT A REQUEST\r\n\r\n", 400),
    ]

    @Test(arguments: cases)
    func malformedRequest_getsJSONErrorAndServerKeepsServing(raw: String, status: Int) async throws {
        try await withServer(router: standardRouter()) { server in
            let bad = try RawClient(port: server.port)
            try bad.send(raw)
            let response = try await bad.readResponse()
            #expect(response.status == status)
            #expect(response.jsonError?.code == status)
            #expect(response.header("Connection") == "close")
            #expect(response.header("Content-Type") == "application/json")
            #expect(await bad.waitForClose())

            let good = try RawClient(port: server.port)
            try good.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await good.readResponse().bodyString == "hello")
        }
    }

    @Test func smuggledRequestAfterAmbiguousFraming_isNeverExecuted() async throws {
        let hits = Counter()
        var router = standardRouter()
        router.get("/admin") { _ in
            await hits.increment()
            return .text("admin")
        }
        try await withServer(router: router) { server in
            let client = try RawClient(port: server.port)
            // CL.TE desync attempt: a lenient front end would see one request, a lenient
            // back end two. We must see neither.
            try client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n"
                            + "0\r\n\r\nGET /admin HTTP/1.1\r\nHost: x\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.status == 400)
            #expect(await client.waitForClose())
            #expect(await hits.value == 0)
        }
    }

    @Test func pipelinedGoodRequestsBeforeAnError_areStillAnswered() async throws {
        try await withServer(router: standardRouter()) { server in
            let client = try RawClient(port: server.port)
            try client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost : x\r\n\r\n")
            #expect(try await client.readResponse().status == 200)
            #expect(try await client.readResponse().status == 400)
            #expect(await client.waitForClose())
        }
    }
}

actor Counter {
    private(set) var value = 0
    func increment() { value += 1 }
}
