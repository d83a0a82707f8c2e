import Foundation
import Logging
import Testing
@testable import Service

/// docs/SECURITY.md's promises that a test can hold: keys never reach the logs (at any
/// level, right or wrong), and the comparison does not stop at the first differing byte.
@Suite("Security")
struct SecurityTests {
    final class LogStore: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func append(_ line: String) { lock.withLock { lines.append(line) } }
        var all: String { lock.withLock { lines.joined(separator: "\n") } }
    }

    struct CapturingHandler: LogHandler {
        let store: LogStore
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            // `level message k=v …` with sorted keys, so tests can look for one value.
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            store.append("\(event.level) \(event.message)" + merged.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined())
        }
    }

    @Test func apiKeys_neverAppearInLogs_atTraceLevel() async throws {
        let store = LogStore()
        var logger = Logger(label: "test") { _ in CapturingHandler(store: store) }
        logger.logLevel = .trace
        var cfg = TestService.configuration()
        cfg.auth.apiKeys = ["s3cret-key-1234"]
        let registry = ModelRegistry(configuration: cfg)
        registry.install(try TestService.models())
        let service = try InferenceService(configuration: cfg, registry: registry, logger: logger)
        try service.start()
        let client = TestService(service: service, overSockets: true)   // the access log is written by connections
        let png = try TestService.png()
        let good = try await client.request("POST", "/v1/classify", body: png, headers: ["Authorization": "Bearer s3cret-key-1234"])
        let alt = try await client.request("POST", "/v1/purify", body: png, headers: ["X-API-Key": "s3cret-key-1234"])
        let wrong = try await client.request("POST", "/v1/classify", body: png, headers: ["Authorization": "Bearer wr0ng-key-5678"])
        await client.stop()
        #expect(good.status == 200)
        #expect(alt.status == 200)
        #expect(wrong.status == 401)
        let logs = store.all
        #expect(logs.contains("/v1/classify"), "the access log should have recorded the requests")
        #expect(!logs.contains("s3cret-key-1234"))
        #expect(!logs.contains("wr0ng-key-5678"))
        #expect(!wrong.body.contains(Data("wr0ng-key-5678".utf8)), "the 401 must not echo the key")
    }

    @Test func keyComparison_isExactForEveryPosition() {
        let key = Array("0123456789abcdef".utf8)
        #expect(APIKeyAuth.constantTimeEqual(key, key))
        #expect(!APIKeyAuth.constantTimeEqual(key, Array("0123456789abcdeX".utf8)))
        #expect(!APIKeyAuth.constantTimeEqual(key, Array("X123456789abcdef".utf8)))
        #expect(!APIKeyAuth.constantTimeEqual(key, Array("0123456789abcde".utf8)))
        #expect(!APIKeyAuth.constantTimeEqual(key, []))
    }

    @Test func enforce_refusesUnpurifiedAndDeterministicRequests() async throws {
        var cfg = TestService.configuration()
        cfg.purification.enforce = true
        try await TestService.with(cfg) { s in
            let png = try TestService.png()
            for query in ["purifier=none", "seed=7", "sampling=mean", "purifier=vae&sampling=mean&seed=1"] {
                let reply = try await s.request("POST", "/v1/classify?" + query, body: png)
                #expect(reply.status == 400, "\(query)")
                #expect(String(decoding: reply.body, as: UTF8.self).contains("purification.enforce"), "\(query)")
            }
            #expect(try await s.request("POST", "/v1/classify?purifier=vae&samples=3", body: png).status == 200)
            #expect(try await s.request("POST", "/v1/classify?purifier=jpeg", body: png).status == 200)
        }
        // Off by default: the same requests are served.
        try await TestService.with(TestService.configuration()) { s in
            let reply = try await s.request("POST", "/v1/classify?purifier=none&seed=7", body: try TestService.png())
            #expect(reply.status == 200)
        }
    }
}
