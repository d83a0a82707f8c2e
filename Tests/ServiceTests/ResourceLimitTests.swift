import Foundation
import Testing
import Engine
import HTTPServer
import Purification
@testable import Service
import TestSupport

/// Issue 16, defects 2, 3 and 4: what one request may make the service compute and hold,
/// and where the CPU work of a request runs.
@Suite("Resource limits")
struct ResourceLimitTests {

    static func raw(_ path: String, png: Data) -> [UInt8] {
        Array("POST \(path) HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: \(png.count)\r\n\r\n".utf8) + png
    }

    // MARK: Defect 2: cost budget, running-time budget, cancellation

    @Test func costBudget_refusesExpensivePurification_withLimitAndCost() async throws {
        var cfg = TestService.configuration()
        cfg.purification.maxRequestGFLOP = 0.1
        try await TestService.with(cfg) { s in
            // 253² patches × 16 samples of the toy 4×4 patch VAE: about 1.1 GFLOP.
            let big = try TestService.png(width: 256, height: 256)
            let refused = try await s.request("POST", "/v1/purify?model=toy&purifier=patch-vae&stride=1&samples=16", body: big)
            #expect(refused.status == 422)
            let message = refused.error?.message ?? ""
            #expect(message.contains("purification.maxRequestGFLOP"), "\(message)")
            #expect(message.contains("GFLOP"))
            #expect(s.service.scheduler.runningBatches == 0)
            // The same image at the default stride and one sample fits.
            let cheap = try await s.request("POST", "/v1/purify?model=toy&purifier=patch-vae", body: big)
            #expect(cheap.status == 200)
            // Every inference route prices its work.
            let classify = try await s.request("POST", "/v1/classify?model=toy&samples=16&purifier=jpeg", body: big)
            #expect(classify.status == 200)
        }
    }

    @Test func costBudget_coversEveryInferenceRoute() async throws {
        var cfg = TestService.configuration()
        cfg.purification.maxRequestGFLOP = 1e-9
        try await TestService.with(cfg) { s in
            let png = try TestService.png()
            for path in ["/v1/classify?model=toy", "/v1/purify?model=toy", "/v1/attack?model=toy&attack=pgd&steps=10"] {
                let reply = try await s.request("POST", path, body: png)
                #expect(reply.status == 422, "\(path)")
            }
            let infer = #"{"inputs":[{"name":"input","datatype":"FP32","shape":[1,8,8,1],"data":[\#((0..<64).map { _ in "0.5" }.joined(separator: ","))]}]}"#
            let reply = try await s.request("POST", "/v2/models/toy/infer", body: Data(infer.utf8))
            #expect(reply.status == 422)
        }
    }

    @Test func clientDisconnect_stopsRunningWork() async throws {
        var cfg = TestService.configuration()
        cfg.batching.workers = 1
        try await TestService.with(cfg, sockets: true) { s in   // the hang-up is a socket's
            // About a million patches × 16 samples: far longer than the bound below.
            let client = try RawClient(port: s.service.port)
            try client.send(Self.raw("/v1/purify?model=toy&purifier=patch-vae&stride=1&samples=16",
                                     png: try TestService.png(width: 1024, height: 1024)))
            let scheduler = s.service.scheduler
            try await waitUntil(timeout: .seconds(30)) { scheduler.runningBatches == 1 }
            client.hangUp()
            try await waitUntil(timeout: .seconds(20)) { scheduler.runningBatches == 0 }
            // The worker is free for the next request.
            let reply = try await s.request("POST", "/v1/classify?model=toy", body: try TestService.png())
            #expect(reply.status == 200)
        }
    }

    @Test func runningTimeBudget_stopsLongWork() async throws {
        var cfg = TestService.configuration()
        cfg.batching.maxRunSeconds = 0.2
        try await TestService.with(cfg) { s in
            let reply = try await s.request("POST", "/v1/purify?model=toy&purifier=patch-vae&stride=1&samples=16",
                                            body: try TestService.png(width: 1024, height: 1024))
            #expect(reply.status == 503)
            let message = reply.error?.message ?? ""
            #expect(message.contains("batching.maxRunSeconds"), "\(message)")
        }
    }

    @Test func cancelledWaiter_dropsItsQueuedJob() async throws {
        let scheduler = BatchScheduler(settings: .init(maxBatchSize: 1, maxWait: 0, queueCapacity: 4, timeout: 60, workers: 1))
        defer { scheduler.stop() }
        let gate = CancelFlag()
        let blocker = Task { try await scheduler.run { while !gate.isCancelled { usleep(1000) } } }
        // Generous waits: a busy cooperative pool in the test process can delay these tasks.
        try await waitUntil(timeout: .seconds(60)) { scheduler.runningBatches == 1 && scheduler.depth == 0 }
        let finished = CancelFlag()
        let queued = Task {
            defer { finished.cancel() }
            return try await scheduler.run { 42 }
        }
        try await waitUntil(timeout: .seconds(60)) { scheduler.depth == 1 }
        queued.cancel()
        // Answered while the worker is still busy: the job left the queue.
        try await waitUntil(timeout: .seconds(60)) { finished.isCancelled }
        #expect(scheduler.depth == 0)
        #expect(scheduler.runningBatches == 1)
        gate.cancel()
        await #expect(throws: CancellationError.self) { try await queued.value }
        try await blocker.value
    }

    // MARK: Defect 3: pixel-memory budget

    @Test func pixelMemoryBudget_shedsLoadWith503_andRefusesWhatNeverFits() async throws {
        var cfg = TestService.configuration()
        cfg.purification.pixelMemoryBudgetBytes = 4 << 20
        try await TestService.with(cfg) { s in
            let image = try TestService.png(width: 200, height: 200)   // about 0.9 MB held while purified
            // Queued and running work holds most of the budget.
            let budget = s.service.context.pixelBudget
            #expect(budget.tryReserve(3_500_000))
            let shed = try await s.request("POST", "/v1/purify?model=toy&purifier=jpeg", body: image)
            #expect(shed.status == 503)
            #expect(shed.header("Retry-After") == "1")
            budget.release(3_500_000)
            let served = try await s.request("POST", "/v1/purify?model=toy&purifier=jpeg", body: image)
            #expect(served.status == 200)
            #expect(budget.inUse == 0)
            // A request larger than the whole budget could never be served: 422, not 503.
            let huge = try await s.request("POST", "/v1/purify?model=toy&purifier=jpeg",
                                           body: try TestService.png(width: 1000, height: 1000))
            #expect(huge.status == 422)
            let message = huge.error?.message ?? ""
            #expect(message.contains("purification.pixelMemoryBudgetBytes"), "\(message)")
        }
    }

    // MARK: Defect 4: CPU work off the cooperative pool

    @Test func cpuWork_runsOnTheDedicatedQueues() async throws {
        // A job running inside a task (on the cooperative pool) would see that task.
        let outsideAnyTask = try await CPUWorkPool.shared.run { withUnsafeCurrentTask { $0 == nil } }
        #expect(outsideAnyTask)
    }

    @Test func everyInferenceRoute_decodesOnTheCPUPool() async throws {
        try await TestService.with { s in
            let png = try TestService.png()
            let infer = #"{"inputs":[{"name":"input","datatype":"UINT8","shape":[1,8,8,1],"data":[\#((0..<64).map { _ in "7" }.joined(separator: ","))]}]}"#
            let requests: [(String, Data)] = [("/v1/classify?model=toy", png), ("/v1/purify?model=toy", png),
                                              ("/v1/attack?model=toy", png), ("/v2/models/toy/infer", Data(infer.utf8))]
            for (path, body) in requests {
                let before = CPUWorkPool.shared.completed
                let reply = try await s.request("POST", path, body: body)
                #expect(reply.status == 200, "\(path)")
                #expect(CPUWorkPool.shared.completed > before, "\(path) parsed or decoded on the cooperative pool")
            }
        }
    }
}

/// Polls `condition` until it holds; records an issue after `timeout`.
private func waitUntil(timeout: Duration = .seconds(5), _ condition: @Sendable () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("condition not met within \(timeout)")
            return
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}
