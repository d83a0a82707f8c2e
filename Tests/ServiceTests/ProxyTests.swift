import Testing
import Foundation
import Imaging
@testable import Service
import TestSupport

/// The purifying proxy against a real upstream process (a small Python HTTP server).
@Suite("Purifying proxy", .serialized)
struct ProxyTests {
    final class Upstream: @unchecked Sendable {
        let process = Process()
        let port: Int

        /// Starts the upstream on its own thread: its start-up wait must not block Swift's
        /// cooperative pool, which runs the service's handlers.
        static func start() async throws -> Upstream {
            try await offPool { try Upstream() }
        }

        private init() throws {
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/upstream.py")
            let portFile = FileManager.default.temporaryDirectory.appendingPathComponent("vg-upstream-\(UUID().uuidString)")
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", script.path, portFile.path]
            try process.run()
            var port = 0
            for _ in 0..<100 where port == 0 {
                Thread.sleep(forTimeInterval: 0.05)
                port = Int((try? String(contentsOf: portFile, encoding: .utf8)) ?? "") ?? 0
            }
            guard port > 0 else { process.terminate(); throw ServiceError.internalError("upstream did not start") }
            self.port = port
        }

        func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }
        /// SIGKILL and reap with waitpid: Foundation's `waitUntilExit` spins a run loop on a
        /// cooperative thread and can stall the whole test pool.
        deinit {
            let pid = process.processIdentifier
            kill(pid, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
        }
    }

    func config(upstream: String, timeout: Double = 10, contentType: String = "image/png") -> ServiceConfiguration {
        var cfg = TestService.configuration()
        var u = ServiceConfiguration.Upstream(url: upstream)
        u.timeoutSeconds = timeout
        u.contentType = contentType
        u.purifierModel = "toyrgb"
        cfg.upstream = u
        return cfg
    }

    @Test func proxy_purifiesAnySizeAndRelaysTheUpstreamReply() async throws {
        let up = try await Upstream.start()
        try await TestService.with(config(upstream: up.url("/classify")), sockets: true) { s in
            let image = try Image(width: 61, height: 45, channels: 3, fill: 90)
            let r = try await s.request("POST", "/v1/proxy", body: Data(try image.pngData()), headers: ["X-Request-Id": "req-42"])
            #expect(r.status == 200)
            #expect(r.json["label"] as? String == "cat")
            #expect(r.json["kind"] as? String == "png")
            #expect(r.json["request_id"] as? String == "req-42")
            #expect(r.header("X-VAEGuard-Purifier") == "patch-vae")
            #expect(r.header("X-VAEGuard-Reconstruction-Error") != nil)
            #expect(r.header("X-VAEGuard-Upstream-Status") == "200")
            #expect(r.json["user_agent"] as? String == "vaeguard/\(VAEGuardVersion.string)")
        }
    }

    /// A 502 still says what the upstream answered, and the upstream's Retry-After reaches
    /// the client on a relayed 429 and on a 502 alike.
    @Test func upstreamStatusAndRetryAfter_areRelayed() async throws {
        let up = try await Upstream.start()
        try await TestService.with(config(upstream: up.url("/fail")), sockets: true) { s in
            let r = try await s.request("POST", "/v1/proxy", body: try TestService.png(channels: 3))
            #expect(r.status == 502)
            #expect(r.header("X-VAEGuard-Upstream-Status") == "500")
            #expect(r.header("Retry-After") == "3")
        }
        try await TestService.with(config(upstream: up.url("/busy")), sockets: true) { s in
            let r = try await s.request("POST", "/v1/proxy", body: try TestService.png(channels: 3))
            #expect(r.status == 429)
            #expect(r.header("X-VAEGuard-Upstream-Status") == "429")
            #expect(r.header("Retry-After") == "7")
        }
    }

    /// Timeouts and refused connections count as upstream errors, and every call lands in
    /// the upstream latency histogram under its outcome.
    @Test func upstreamFailures_areCountedByOutcome() async throws {
        let up = try await Upstream.start()
        func value(_ text: String, _ series: String) -> Double {
            text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") } ?? -1
        }
        /// One failing proxy call moves upstream_error and the outcome's histogram count by one.
        func expectCounted(_ cfg: ServiceConfiguration, outcome: String) async throws {
            try await TestService.with(cfg, sockets: true) { s in
                let before = String(decoding: try await s.request("GET", "/metrics").body, as: UTF8.self)
                _ = try await s.request("POST", "/v1/proxy", body: try TestService.png(channels: 3))
                let after = String(decoding: try await s.request("GET", "/metrics").body, as: UTF8.self)
                for series in [#"vaeguard_rejected_requests_total{reason="upstream_error"}"#,
                               #"vaeguard_upstream_request_duration_seconds_count{outcome="\#(outcome)"}"#] {
                    #expect(value(after, series) == value(before, series) + 1, "\(series)")
                }
            }
        }
        try await expectCounted(config(upstream: "http://127.0.0.1:1/none"), outcome: "unreachable")
        try await expectCounted(config(upstream: up.url("/slow"), timeout: 0.3), outcome: "timeout")
    }

    @Test func proxy_multipartUpstream() async throws {
        let up = try await Upstream.start()
        try await TestService.with(config(upstream: up.url("/classify"), contentType: "multipart/form-data"), sockets: true) { s in
            let r = try await s.request("POST", "/v1/proxy?purifier=jpeg", body: try TestService.png(channels: 3))
            #expect(r.status == 200)
            #expect(r.json["kind"] as? String == "multipart")
            #expect(r.header("X-VAEGuard-Purifier") == "jpeg")
        }
    }

    @Test func upstreamError_is502_andTimeout_is504() async throws {
        let up = try await Upstream.start()
        // The upstream's address is internal: it goes to the log, never into the reply.
        func expect(_ reply: TestService.Reply, _ status: Int) {
            #expect(reply.status == status)
            #expect(!String(decoding: reply.body, as: UTF8.self).contains("127.0.0.1"), "\(String(decoding: reply.body, as: UTF8.self))")
        }
        try await TestService.with(config(upstream: up.url("/fail")), sockets: true) { s in
            expect(try await s.request("POST", "/v1/proxy", body: try TestService.png(channels: 3)), 502)
        }
        try await TestService.with(config(upstream: up.url("/slow"), timeout: 0.5), sockets: true) { s in
            expect(try await s.request("POST", "/v1/proxy", body: try TestService.png(channels: 3)), 504)
        }
        try await TestService.with(config(upstream: "http://127.0.0.1:1/none"), sockets: true) { s in
            expect(try await s.request("POST", "/v1/proxy", body: try TestService.png(channels: 3)), 502)
        }
    }

    /// A model entry with only a name and an upstream is one model on every route: listed by
    /// /v1/models, known to /v2 (whose infer explains where to send images instead of using a
    /// local classifier), purified by /v1/purify with its upstream's purifier, proxied by classify.
    @Test func upstreamOnlyEntry_isConsistentAcrossRoutes() async throws {
        let up = try await Upstream.start()
        var cfg = TestService.configuration()
        var u = ServiceConfiguration.Upstream(url: up.url("/classify"))
        u.purifierModel = "toyrgb"
        u.purifier = .jpeg
        cfg.models.entries.append(.init(name: "remote", upstream: u))
        try await TestService.with(cfg, sockets: true) { s in
            let listing = try await s.request("GET", "/v1/models").json
            let upstreams = try #require(listing["upstream_models"] as? [[String: Any]])
            #expect(upstreams.map { $0["name"] as? String } == ["remote"])
            #expect(upstreams[0]["default_purifier"] as? String == "jpeg")
            #expect((listing["models"] as? [[String: Any]])?.contains { $0["name"] as? String == "remote" } == false)
            let meta = try await s.request("GET", "/v2/models/remote")
            #expect(meta.status == 200 && meta.json["platform"] as? String == "vaeguard-upstream")
            #expect(String(decoding: try await s.request("GET", "/v2/models/remote/ready").body, as: UTF8.self).contains(#""ready":true"#))
            let infer = try await s.request("POST", "/v2/models/remote/infer", body: Data(#"{"inputs": []}"#.utf8))
            #expect(infer.status == 400)
            #expect((infer.json["error"] as? String)?.contains("/v1/classify?model=remote") == true)
            let purified = try await s.request("POST", "/v1/purify?model=remote", body: try TestService.png(channels: 3))
            #expect(purified.status == 200 && purified.header("X-VAEGuard-Purifier") == "jpeg")
            let classified = try await s.request("POST", "/v1/classify?model=remote", body: try TestService.png(channels: 3))
            #expect(classified.json["label"] as? String == "cat")
        }
    }

    @Test func proxyWithoutUpstream_is404() async throws {
        try await TestService.with(sockets: true) { s in
            let body = try TestService.png()
            #expect(try await s.request("POST", "/v1/proxy", body: body).status == 404)
        }
    }
}
