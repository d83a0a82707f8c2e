import Foundation
import Testing
@testable import HTTPServer
import TestSupport

@Suite("Loopback: limits and timeouts")
struct LimitTests {

    @Test func bodyTooLarge_is413BeforeTheBodyIsRead() async throws {
        let config = TestEnv.config { $0.maxBodyBytes = 1024 }
        try await withServer(config, router: standardRouter()) { server in
            let client = try RawClient(port: server.port)
            // Only the head is sent: a 413 proves the server did not wait for 10 MB.
            try client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.status == 413)
            #expect(response.jsonError?.message == "request body larger than 1024 bytes")
            #expect(await client.waitForClose())
        }
    }

    @Test func chunkedBodyTooLarge_is413() async throws {
        let config = TestEnv.config { $0.maxBodyBytes = 16 }
        try await withServer(config, router: standardRouter()) { server in
            let client = try RawClient(port: server.port)
            try client.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n1\r\n")
            #expect(try await client.readResponse().status == 413)
        }
    }

    @Test func headerTooLarge_is431() async throws {
        let config = TestEnv.config { $0.maxHeaderBytes = 512 }
        try await withServer(config, router: standardRouter()) { server in
            let client = try RawClient(port: server.port)
            try client.send("GET /hello HTTP/1.1\r\nHost: x\r\nCookie: \(String(repeating: "c", count: 1000))\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.status == 431)
            #expect(response.jsonError?.code == 431)
        }
    }

    @Test func slowHeaders_get408AndClose() async throws {
        let config = TestEnv.config { $0.headerTimeout = .milliseconds(150) }
        try await withServer(config, router: standardRouter()) { server in
            let client = try RawClient(port: server.port)
            try client.send("GET /hello HTTP/1.1\r\nHost: x\r\n")  // never finished
            let response = try await client.readResponse()
            #expect(response.status == 408)
            #expect(response.jsonError?.code == 408)
            // A 408 can only come from the server's header timer; no wall-clock bound (noisy CI).
            #expect(await client.waitForClose())
        }
    }

    @Test func slowBody_gets408() async throws {
        let config = TestEnv.config { $0.bodyTimeout = .milliseconds(150) }
        try await withServer(config, router: standardRouter()) { server in
            let client = try RawClient(port: server.port)
            try client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly-part")
            #expect(try await client.readResponse().status == 408)
        }
    }

    @Test func idleKeepAliveConnection_isClosed() async throws {
        let config = TestEnv.config { $0.idleTimeout = .milliseconds(150) }
        try await withServer(config, router: standardRouter()) { server in
            let client = try RawClient(port: server.port)
            try client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await client.readResponse().status == 200)
            #expect(await client.waitForClose())
            #expect(server.connectionCount == 0)
        }
    }

    @Test func overConnectionLimit_gets503WithRetryAfter() async throws {
        let config = TestEnv.config {
            $0.maxConnections = 2
            $0.retryAfterSeconds = 7
        }
        try await withServer(config, router: standardRouter()) { server in
            let first = try RawClient(port: server.port)
            let second = try RawClient(port: server.port)
            // Make sure both are admitted before the third arrives.
            for client in [first, second] {
                try client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
                #expect(try await client.readResponse().status == 200)
            }
            let third = try RawClient(port: server.port)
            try third.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            let refused = try await third.readResponse()
            #expect(refused.status == 503)
            #expect(refused.header("Retry-After") == "7")
            #expect(refused.jsonError?.code == 503)
            #expect(await third.waitForClose())

            // Admitted connections are unaffected, and capacity returns once one closes.
            try first.send("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(try await first.readResponse().status == 200)
            #expect(await first.waitForClose())
            try await waitUntil { server.connectionCount <= 1 }
            let fourth = try RawClient(port: server.port)
            try fourth.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await fourth.readResponse().status == 200)
        }
    }

    @Test func tooManyPipelinedRequests_applyBackPressureButAllAreAnswered() async throws {
        let config = TestEnv.config { $0.maxPipelinedRequests = 2 }
        try await withServer(config, router: standardRouter()) { server in
            let client = try RawClient(port: server.port)
            let count = 50
            try client.send(String(repeating: "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", count: count))
            for _ in 0..<count {
                #expect(try await client.readResponse().bodyString == "hello")
            }
        }
    }
}

/// Polls `condition` (cheaply) until it holds or `timeout` passes.
///
/// Polled from a plain thread, so the deadline measures the server (whose accepting, I/O and
/// bookkeeping run on its own dispatch queues), not how long a busy cooperative pool in the
/// test process takes to resume a sleeping task.
func waitUntil(timeout: Duration = .seconds(5), _ condition: @escaping @Sendable () -> Bool) async throws {
    let met = try await offPool { () -> Bool in
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            guard ContinuousClock.now < deadline else { return false }
            usleep(5_000)
        }
        return true
    }
    if !met { Issue.record("condition not met within \(timeout)") }
}
