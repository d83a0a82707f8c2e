import Foundation
import Testing
@testable import HTTPServer
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

@Suite("Graceful shutdown")
struct ShutdownTests {

    @Test func shutdown_letsInFlightRequestFinish() async throws {
        let started = Gate(), release = Gate()
        var router = Router()
        router.get("/slow") { _ in
            await started.open()
            await release.wait()
            return .text("finished")
        }
        let server = HTTPServer(configuration: TestEnv.config(), router: router, logger: TestEnv.quietLogger)
        try server.start()
        let client = try RawClient(port: server.port)
        try client.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        await started.wait()

        async let shutdown: Void = server.shutdown(deadline: .now + .seconds(5))
        try await waitUntil { server.isDraining }
        // New connections are refused once the listener is closed.
        try await waitUntil { (try? RawClient(port: server.port)) == nil }
        await release.open()
        let response = try await client.readResponse()
        #expect(response.status == 200)
        #expect(response.bodyString == "finished")
        #expect(response.header("Connection") == "close")
        await shutdown
        #expect(server.connectionCount == 0)
    }

    @Test func shutdown_closesIdleKeepAliveConnectionsPromptly() async throws {
        let server = HTTPServer(configuration: TestEnv.config(), router: standardRouter(), logger: TestEnv.quietLogger)
        try server.start()
        let client = try RawClient(port: server.port)
        try client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try await client.readResponse().status == 200)
        let before = ContinuousClock.now
        await server.shutdown(deadline: .now + .seconds(30))
        // Idle keep-alive connections close at once, not at the deadline (generous bound: shared CI machines are slow).
        #expect(ContinuousClock.now - before < .seconds(15))
        #expect(await client.waitForClose())
    }

    @Test func shutdown_forceClosesAtTheDeadline() async throws {
        let never = Gate()
        var router = Router()
        router.get("/hang") { _ in
            await never.wait()
            return .text("late")
        }
        let server = HTTPServer(configuration: TestEnv.config(), router: router, logger: TestEnv.quietLogger)
        try server.start()
        let client = try RawClient(port: server.port)
        try client.send("GET /hang HTTP/1.1\r\nHost: x\r\n\r\n")
        try await waitUntil { server.connectionCount == 1 }
        let before = ContinuousClock.now
        await server.shutdown(deadline: .now + .milliseconds(200))
        // Forced close at the deadline instead of waiting for the handler forever (generous bound).
        #expect(ContinuousClock.now - before < .seconds(15))
        #expect(await client.waitForClose())
        await never.open()
    }

    @Test func waitUntilStopped_returnsAfterShutdown() async throws {
        let server = HTTPServer(configuration: TestEnv.config(), router: standardRouter(), logger: TestEnv.quietLogger)
        try server.start()
        async let stopped: Void = server.waitUntilStopped()
        await server.shutdown(gracePeriod: .seconds(1))
        await stopped
        // A second shutdown is a no-op.
        await server.shutdown(gracePeriod: .seconds(1))
    }

    @Test func signalHandler_drainsAndStops() async throws {
        let server = HTTPServer(configuration: TestEnv.config(), router: standardRouter(), logger: TestEnv.quietLogger)
        try server.start()
        let received = LockedCounter()
        let drained = LockedCounter()
        server.onDraining { drained.increment() }
        // SIGUSR2 rather than SIGTERM so a stray signal cannot affect the test runner.
        let handlers = server.installSignalHandlers(signals: [SIGUSR2], gracePeriod: .seconds(2)) { _ in
            received.increment()
        }
        defer { handlers.cancel() }
        kill(getpid(), SIGUSR2)
        await server.waitUntilStopped()
        #expect(server.isDraining)
        try await waitUntil { server.connectionCount == 0 }
        #expect(received.value == 1)
        #expect(drained.value == 1)
    }

    @Test func beginDraining_flipsReadinessWithoutClosing() async throws {
        var router = Router()
        let server = HTTPServer(configuration: TestEnv.config(), router: router, logger: TestEnv.quietLogger)
        router.get("/ready") { _ in .text("x") }
        try server.start()
        #expect(!server.isDraining)
        server.beginDraining()
        #expect(server.isDraining)
        let client = try RawClient(port: server.port)
        try client.send("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try await client.readResponse().status == 404)
        await server.shutdown(gracePeriod: .seconds(1))
    }
}

/// A counter usable from synchronous callbacks.
final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    func increment() {
        lock.lock()
        count += 1
        lock.unlock()
    }

    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return count
    }
}
