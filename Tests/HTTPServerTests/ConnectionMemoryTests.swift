import Foundation
import Synchronization
import Testing
@testable import HTTPServer
import TestSupport

/// Issue 16, defect 6: what one client can make the server hold in memory.
@Suite("Loopback: connection memory")
struct ConnectionMemoryTests {

    @Test func clientThatDoesNotRead_stopsGettingRequestsServed() async throws {
        let served = Atomic<Int>(0)
        let megabyte = [UInt8](repeating: 0x61, count: 1 << 20)
        var router = Router()
        router.get("/big") { _ in
            served.add(1, ordering: .relaxed)
            return HTTPResponse(headers: ["Content-Type": "application/octet-stream"], body: megabyte)
        }
        let config = TestEnv.config { $0.maxUnsentResponseBytes = 64 * 1024 }
        try await withServer(config, router: router) { server in
            let client = try RawClient(port: server.port)
            let count = 80
            try client.send(String(repeating: "GET /big HTTP/1.1\r\nHost: x\r\n\r\n", count: count))
            // Wait until the server stops making progress (the kernel's socket buffers hold a
            // few responses; the old code went on to buffer all 80 MB in user space).
            var last = -1
            while served.load(ordering: .relaxed) != last {
                last = served.load(ordering: .relaxed)
                try await Task.sleep(for: .milliseconds(500))
            }
            #expect(last < 40, "served \(last) of \(count) responses nobody read")
            // Back-pressure, not refusal: once the client reads, every request is answered.
            for _ in 0..<count {
                let response = try await client.readResponse()
                #expect(response.status == 200)
                #expect(response.body.count == 1 << 20)
            }
            #expect(served.load(ordering: .relaxed) == count)
        }
    }

    @Test func requestBytesAcrossConnections_areBudgeted() async throws {
        let config = TestEnv.config {
            $0.maxBufferedRequestBytes = 4 << 20
            $0.retryAfterSeconds = 2
        }
        try await withServer(config, router: standardRouter()) { server in
            // The first client holds 1.5 MB of an unfinished 2 MB body.
            let holder = try RawClient(port: server.port)
            try holder.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n")
            try holder.send([UInt8](repeating: 0x62, count: 1_500_000))
            try await waitUntil { server.requestBudget.inUse >= 1_500_000 }
            // A second 3 MB body does not fit in what is left of the 4 MiB budget.
            let second = try RawClient(port: server.port)
            second.sendAllowingEarlyClose(Array("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3000000\r\n\r\n".utf8)
                + [UInt8](repeating: 0x63, count: 3_000_000))
            let refused = try await second.readResponse()
            #expect(refused.status == 503)
            #expect(refused.header("Retry-After") == "2")
            // The first finishes normally, and its bytes are given back afterwards.
            try holder.send([UInt8](repeating: 0x62, count: 500_000))
            let echoed = try await holder.readResponse()
            #expect(echoed.status == 200)
            #expect(echoed.body.count == 2_000_000)
            try await waitUntil { server.requestBudget.inUse == 0 }
        }
    }

    @Test func pipelinedRequests_heldPerConnection_areCapped() async throws {
        let release = Atomic<Bool>(false)
        var router = standardRouter()
        router.post("/slow") { request in
            while !release.load(ordering: .relaxed) { try await Task.sleep(for: .milliseconds(5)) }
            return .text("\(request.body.count)")
        }
        // The default configuration: a client may not queue 16 bodies behind a busy handler.
        try await withServer(TestEnv.config(), router: router) { server in
            let client = try RawClient(port: server.port)
            let body = [UInt8](repeating: 0x64, count: 100_000)
            let request = Array("POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n".utf8) + body
            let sender = Task.detached { for _ in 0..<16 { client.sendAllowingEarlyClose(request) } }
            try await Task.sleep(for: .milliseconds(800))
            // Held: the running request, at most `maxPipelinedRequests` queued ones, and the
            // parser's buffer with part of the next (the rest waits in the kernel's buffers);
            // the old limit of 16 queued requests held more than 1.7 MB here.
            let held = server.requestBudget.inUse
            #expect(held <= (server.configuration.maxPipelinedRequests + 1) * 100_000 + 512 * 1024, "held \(held) bytes")
            release.store(true, ordering: .relaxed)
            await sender.value
            for _ in 0..<16 { #expect(try await client.readResponse().bodyString == "100000") }
        }
    }

    @Test func largeFrees_triggerMallocTrim() async throws {
        let budget = MemoryBudget(limit: 1 << 30)
        let before = MemoryTrimmer.shared.trimCount
        #expect(budget.tryReserve(64 << 20))
        #expect(!budget.tryReserve(1 << 30))
        budget.release(64 << 20)
        #expect(budget.inUse == 0)
        try await waitUntil(timeout: .seconds(10)) {
            MemoryTrimmer.shared.trimIfDue()
            return MemoryTrimmer.shared.trimCount > before
        }
    }
}
