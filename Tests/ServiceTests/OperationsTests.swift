import Testing
import Foundation
import Engine
@testable import Service

@Suite("Health, readiness, auth, metrics, overload")
struct OperationsTests {
    @Test func readiness_is503UntilModelsAreLoaded_then200() async throws {
        try await TestService.with(ready: false) { s in
            let png = try TestService.png()
            #expect(try await s.request("GET", "/healthz").status == 200)
            #expect(try await s.request("GET", "/readyz").status == 503)
            #expect(try await s.request("GET", "/v2/health/ready").status == 503)
            #expect(try await s.request("POST", "/v1/classify", body: png).status == 503)
            s.service.registry.install(try TestService.models())
            #expect(try await s.request("GET", "/readyz").status == 200)
            #expect(try await s.request("POST", "/v1/classify", body: png).status == 200)
        }
    }

    @Test func readiness_loadsRealModelFilesFromAFolder() async throws {
        // Save tiny models as files and let the registry load and warm them, as `serve` does.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vg-models-\(UUID().uuidString)")
        let toy = try TestService.models()[0]
        try NeuralNetFiles.save(toy, to: dir)
        var cfg = TestService.configuration()
        cfg.models.directory = dir.path
        cfg.models.entries = [.init(name: "toy", classifier: "toy-classifier", vae: "toy-vae", threshold: 0.01)]
        let registry = ModelRegistry(configuration: cfg)
        try registry.loadAndWarm()
        #expect(registry.isReady)
        #expect(try registry.model(named: "toy").availablePurifiers == [.none, .jpeg, .vae])
        // A missing purifier file leaves that purifier out, with a warning.
        var partial = cfg
        partial.models.entries = [.init(name: "toy", classifier: "toy-classifier", vae: "toy-vae", patchVAE: "absent-vae", threshold: 0.01)]
        let partialRegistry = ModelRegistry(configuration: partial)
        try partialRegistry.loadAndWarm()
        #expect(partialRegistry.loadWarnings.count == 1)
        // No usable model at all is an error.
        var missing = cfg
        missing.models.entries = [.init(name: "toy", classifier: "absent", threshold: 0.01)]
        #expect(throws: ServiceError.self) { try ModelRegistry(configuration: missing).loadAndWarm() }
    }

    @Test func apiKeys_protectInferenceRoutes_notLiveness() async throws {
        var cfg = TestService.configuration()
        cfg.auth.apiKeys = ["s3cret", "other-key"]
        try await TestService.with(cfg) { s in
            let png = try TestService.png()
            #expect(try await s.request("GET", "/healthz").status == 200)
            #expect(try await s.request("GET", "/metrics").status == 200)
            let missing = try await s.request("POST", "/v1/classify", body: try TestService.png())
            #expect(missing.status == 401)
            #expect(missing.header("WWW-Authenticate") == "Bearer")
            #expect(try await s.request("POST", "/v1/classify", body: png, headers: ["X-API-Key": "wrong"]).status == 401)
            #expect(try await s.request("GET", "/v2/models/toy", headers: ["Authorization": "Bearer s3cre"]).status == 401)
            #expect(try await s.request("POST", "/v1/classify", body: png, headers: ["Authorization": "Bearer s3cret"]).status == 200)
            #expect(try await s.request("GET", "/v2/models/toy", headers: ["X-API-Key": "other-key"]).status == 200)
        }
    }

    @Test func rateLimit_answers429WithRetryAfter() async throws {
        var cfg = TestService.configuration()
        cfg.auth.apiKeys = ["k"]
        cfg.auth.rateLimitPerSecond = 0.5
        cfg.auth.rateLimitBurst = 2
        try await TestService.with(cfg) { s in
            let h = ["X-API-Key": "k"]
            #expect(try await s.request("GET", "/v1/models", headers: h).status == 200)
            #expect(try await s.request("GET", "/v1/models", headers: h).status == 200)
            let limited = try await s.request("GET", "/v1/models", headers: h)
            #expect(limited.status == 429)
            #expect(Int(limited.header("Retry-After") ?? "") ?? 0 >= 1)
        }
    }

    @Test func metrics_exposePrometheusText() async throws {
        try await TestService.with { s in
            _ = try await s.request("POST", "/v1/classify", body: try TestService.png())
            _ = try await s.request("POST", "/v1/classify?samples=0", body: try TestService.png())
            let r = try await s.request("GET", "/metrics")
            let text = String(decoding: r.body, as: UTF8.self)
            #expect(r.header("Content-Type")?.hasPrefix("text/plain") == true)
            for name in ["vaeguard_http_requests_total", "vaeguard_http_request_duration_seconds_bucket",
                         "vaeguard_purify_duration_seconds", "vaeguard_classify_duration_seconds", "vaeguard_batch_size",
                         "vaeguard_reconstruction_error", "vaeguard_images_purified_total"] {
                #expect(text.contains(name), "\(name) missing")
            }
            #expect(text.contains(#"route="/v1/classify""#) && text.contains(#"status="400""#))
        }
    }

    @Test func saturatedQueue_answers503WithRetryAfterAtOnce() async throws {
        var cfg = TestService.configuration()
        cfg.batching.workers = 1
        cfg.batching.queueCapacity = 1
        try await TestService.with(cfg) { s in
            // Occupy the only worker, then fill the one queue slot.
            let gate = DispatchSemaphore(value: 0)
            let blocker = Task { try await s.service.scheduler.run { gate.wait() } }
            try await Task.sleep(for: .milliseconds(100))
            let filler = Task { try await s.service.scheduler.run { } }
            try await Task.sleep(for: .milliseconds(100))
            let start = Date()
            let r = try await s.request("POST", "/v1/classify", body: try TestService.png())
            #expect(r.status == 503)
            #expect(r.header("Retry-After") == "1")
            // "At once": far below the 30 s request deadline it would otherwise wait for.
            #expect(Date().timeIntervalSince(start) < 15)
            // Shed before decoding: an upload that would be a 415 is not even looked at.
            #expect(try await s.request("POST", "/v1/classify", body: Data("not an image".utf8)).status == 503)
            #expect(try await s.request("GET", "/v1/models").status == 200)
            #expect(try await s.request("GET", "/healthz").status == 200)
            let png = try TestService.png()
            gate.signal()
            _ = try await blocker.value
            _ = try await filler.value
            #expect(try await s.request("POST", "/v1/classify", body: png).status == 200)
        }
    }

    @Test func concurrentRequests_areBatchedTogether() async throws {
        var cfg = TestService.configuration()
        cfg.batching.workers = 1
        cfg.batching.maxWaitMilliseconds = 50
        try await TestService.with(cfg) { s in
            let body = try TestService.png()
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<8 { group.addTask { try await s.request("POST", "/v1/classify?purifier=none", body: body).status } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses == Array(repeating: 200, count: 8))
            let text = String(decoding: try await s.request("GET", "/metrics").body, as: UTF8.self)
            // Some batch held more than one request.
            let line = text.split(separator: "\n").first { $0.hasPrefix("vaeguard_batch_size_bucket") && $0.contains(#"le="1.0""#) }
            let count = text.split(separator: "\n").first { $0.hasPrefix("vaeguard_batch_size_count") }
            let le1 = line.flatMap { Double($0.split(separator: " ").last!) } ?? 0
            let total = count.flatMap { Double($0.split(separator: " ").last!) } ?? 0
            #expect(total > le1, "no batch larger than one request: \(line ?? "") / \(count ?? "")")
        }
    }

    @Test func configuration_rejectsBadValuesNamingTheKey() throws {
        #expect(throws: ServiceError.self) { try ServiceConfiguration.decode(Data(#"{"server": {"port": "eighty"}}"#.utf8), source: "t") }
        #expect(throws: ServiceError.self) { try ServiceConfiguration.decode(Data(#"{"sever": {}}"#.utf8), source: "t") }
        var c = ServiceConfiguration()
        c.models.defaultModel = "imagenet"
        #expect(throws: ServiceError.self) { try c.validate() }
        var t = ServiceConfiguration()
        t.models.entries[0].purifierThresholds = ["magic": 0.1]
        #expect(throws: ServiceError.self) { try t.validate() }
        let partial = try ServiceConfiguration.decode(Data(#"{"server": {"port": 9000}, "_note": "x"}"#.utf8), source: "t")
        #expect(partial.server.port == 9000)
        #expect(partial.server.host == "0.0.0.0")
        var env = ServiceConfiguration()
        try env.applyEnvironment(["VAEGUARD_PORT": "9100", "VAEGUARD_API_KEYS": "a, b"])
        #expect(env.server.port == 9100 && env.auth.apiKeys == ["a", "b"])
    }

    @Test func shippedConfigurationFile_isValid() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let cfg = try ServiceConfiguration.load(path: root.appendingPathComponent("config/vaeguard.json").path)
        try cfg.validate()
        #expect(cfg == ServiceConfiguration())   // the file documents the defaults
    }
}
