import Foundation
import Testing
@testable import HTTPServer
import TestSupport

/// Issue 16, defect 5: connections that send nothing must not hold slots for the idle
/// timeout, and probes must stay answerable while the connection table is full.
@Suite("Loopback: connection slots")
struct ConnectionSlotTests {

    /// Seconds since `start`.
    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    @Test func silentConnection_isClosedAfterTheHeaderTimeout_notTheIdleTimeout() async throws {
        let config = TestEnv.config {
            $0.headerTimeout = .milliseconds(200)
            $0.idleTimeout = .seconds(60)
        }
        try await withServer(config, router: standardRouter()) { server in
            let port = server.port
            // Timed on a plain thread. The client gives up after 15 s; the old code closed only
            // after the 60 s idle timeout.
            let (closed, seconds) = try await offPool { () throws -> (Bool, Double) in
                let start = ContinuousClock.now
                let client = try RawClient(port: port, timeout: 15)
                return (client.waitForCloseBlocking(), Self.seconds(since: start))
            }
            #expect(closed)
            #expect(seconds < 10)
            try await waitUntil { server.connectionCount == 0 }
        }
    }

    @Test func firstRequestHeaderTimeout_runsFromAccept() async throws {
        let config = TestEnv.config {
            $0.headerTimeout = .seconds(8)
            $0.idleTimeout = .seconds(60)
        }
        try await withServer(config, router: standardRouter()) { server in
            let port = server.port
            // The first byte, 2 s after accept, must not restart the 8 s clock: the server
            // answers about 6 s later (the old code, 8 s later). Timed on a plain thread.
            let (status, seconds) = try await offPool { () throws -> (Int, Double) in
                let client = try RawClient(port: port, timeout: 20)
                usleep(2_000_000)
                try client.send("G")
                let sent = ContinuousClock.now
                let response = try client.readResponseBlocking()
                return (response.status, Self.seconds(since: sent))
            }
            #expect(status == 408)
            #expect(seconds < 7.5)
        }
    }

    @Test func stalledTLSHandshake_isClosedAfterTheHandshakeTimeout() async throws {
        let (dir, tls) = try await offPool { try TLSTests.makeCertificate() }
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = TestEnv.config {
            $0.tls = tls
            $0.tlsHandshakeTimeout = .milliseconds(200)
            $0.headerTimeout = .seconds(60)
            $0.idleTimeout = .seconds(60)
        }
        try await withServer(config, router: standardRouter()) { server in
            let port = server.port
            let (closed, seconds) = try await offPool { () throws -> (Bool, Double) in
                let start = ContinuousClock.now
                let client = try RawClient(port: port, timeout: 15)
                // A TLS record header announcing a ClientHello and two bytes of it, then nothing.
                try client.send([0x16, 0x03, 0x01, 0x00, 0xC8, 0x01, 0x00])
                return (client.waitForCloseBlocking(), Self.seconds(since: start))
            }
            #expect(closed)
            #expect(seconds < 10)
        }
    }

    @Test func fullConnectionTable_stillAnswersProbes_andRefusesOtherRequests() async throws {
        let config = TestEnv.config {
            $0.maxConnections = 2
            $0.reservedProbeConnections = 2
            $0.probePaths = ["/hello"]
            $0.retryAfterSeconds = 3
        }
        try await withServer(config, router: standardRouter()) { server in
            // Four clients that send nothing take every normal slot and the whole reserve; the
            // probe evicts the oldest silent reserved connection.
            var idle: [RawClient] = []
            for expected in 1...4 {
                idle.append(try RawClient(port: server.port))
                try await waitUntil { server.connectionCount == expected }
            }
            let probe = try RawClient(port: server.port)
            try probe.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            let answered = try await probe.readResponse()
            #expect(answered.status == 200)
            #expect(answered.bodyString == "hello")
            #expect(await probe.waitForClose())

            let other = try RawClient(port: server.port)
            try other.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi")
            let refused = try await other.readResponse()
            #expect(refused.status == 503)
            #expect(refused.header("Retry-After") == "3")
            withExtendedLifetime(idle) {}
        }
    }

    @Test func overTheLimitOnTheTLSPort_isAnswered503() async throws {
        let (dir, tls) = try await offPool { try TLSTests.makeCertificate() }
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = TestEnv.config {
            $0.tls = tls
            $0.maxConnections = 1
            $0.reservedProbeConnections = 0
        }
        try await withServer(config, router: standardRouter()) { server in
            let holder = try RawClient(port: server.port)
            try await waitUntil { server.connectionCount == 1 }
            let result = try await curl(["-k", "-o", "/dev/null", "-w", "%{http_code}", "https://127.0.0.1:\(server.port)/hello"])
            #expect(result.stdout == "503", "\(result.stderr)")
            withExtendedLifetime(holder) {}
        }
    }

    @Test func signalShutdown_closesTheListenerWithoutWaitingForATask() async throws {
        let server = HTTPServer(configuration: TestEnv.config(), router: standardRouter(), logger: TestEnv.quietLogger)
        try server.start()
        let port = server.port
        // What the SIGTERM handler runs on its dispatch queue, before it starts the shutdown
        // task: the listener is closed when it returns, whatever the cooperative pool is doing.
        server.beginShutdownNow()
        #expect(server.isDraining)
        #expect(throws: ClientError.self) { _ = try RawClient(port: port) }
        await server.shutdown(gracePeriod: .seconds(1))
    }
}
