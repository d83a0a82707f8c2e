import Testing
import Foundation
@testable import Service

/// `certify=true` through the purifying proxy: the upstream is the base classifier.
@Suite("Proxy certification")
struct ProxyCertifyTests {
    func config(_ url: String, maxQueries: Int = 200) -> ServiceConfiguration {
        var cfg = TestService.configuration()
        var u = ServiceConfiguration.Upstream(url: url)
        u.purifierModel = "toyrgb"
        cfg.upstream = u
        cfg.certification.maxUpstreamQueries = maxQueries
        return cfg
    }

    /// The stand-in upstream always answers "cat": every sample agrees, so p_A = α^(1/n)
    /// exactly and the radius is σ·Φ⁻¹(α^(1/n)).
    @Test func proxy_certify_queriesTheUpstreamAndAddsTheCertificate() async throws {
        let up = try await ProxyTests.Upstream.start()
        try await TestService.with(config(up.url("/classify"))) { s in
            let r = try await s.request("POST", "/v1/proxy?certify=true&n=40&n0=8&alpha=0.01&sigma=0.5",
                                        body: try TestService.png(width: 12, height: 10, channels: 3))
            #expect(r.status == 200)
            #expect(r.json["label"] as? String == "cat")
            let c = try #require(r.json["certificate"] as? [String: Any])
            #expect(c["label"] as? String == "cat" && c["abstained"] as? Bool == false)
            #expect(c["denoiser"] as? String == "patch-vae")
            let expected = 0.5 * 1.2332081278563196   // 0.5 · scipy.stats.norm.ppf(0.01 ** (1 / 40))
            #expect(abs(((c["radius_l2"] as? NSNumber)?.doubleValue ?? 0) - expected) < 1e-6)
        }
    }

    @Test func proxy_certify_beyondTheConfiguredQueries_is400() async throws {
        let up = try await ProxyTests.Upstream.start()
        try await TestService.with(config(up.url("/classify"), maxQueries: 50)) { s in
            let r = try await s.request("POST", "/v1/proxy?certify=true&n=100&n0=10", body: try TestService.png(channels: 3))
            #expect(r.status == 400)
            let message = (r.json["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(message.contains("maxUpstreamQueries") && message.contains("110"))
        }
    }

    @Test func proxy_certify_withAReplyWithoutLabel_is502() async throws {
        let up = try await ProxyTests.Upstream.start()
        var cfg = config(up.url("/classify"))
        cfg.upstream?.labelField = "verdict"
        try await TestService.with(cfg) { s in
            let r = try await s.request("POST", "/v1/proxy?certify=true&n=10&n0=2", body: try TestService.png(channels: 3))
            #expect(r.status == 502)
        }
    }
}
