import Testing
import Foundation
@testable import Service

/// `certify=true` on /v1/classify and the Open Inference `certify` parameter (randomized smoothing).
@Suite("certify=true")
struct CertifyEndpointTests {
    @Test func classify_certify_addsTheCertificate() async throws {
        try await TestService.with { s in
            let r = try await s.request("POST", "/v1/classify?certify=true&n=300&n0=30&alpha=0.01&seed=3", body: try TestService.png())
            #expect(r.status == 200)
            // Every key is on the wire (the label as null when abstaining).
            let keys = try #require(r.json["certificate"] as? [String: Any]).keys
            for key in ["label", "radius_l2", "sigma", "n", "n0", "alpha", "abstained", "denoiser"] {
                #expect(keys.contains(key), "certificate lacks \(key)")
            }
            let body = try r.decode(ClassifyResponse.self)
            let c = try #require(body.certificate)
            #expect(c.n == 300 && c.n0 == 30)
            #expect(c.alpha == 0.01)
            #expect(c.sigma == 0.25)   // certification.defaultSigma
            #expect(c.denoiser == "vae")
            #expect(c.abstained ? c.radiusL2 == 0 : c.radiusL2 > 0)
            if !c.abstained { #expect(["zero", "one", "two"].contains(c.label ?? "")) }
            // Per image too, and the same seed gives the same certificate.
            #expect(body.results[0].certificate == c)
            let again = try await s.request("POST", "/v1/classify?certify=true&n=300&n0=30&alpha=0.01&seed=3", body: try TestService.png())
            #expect(try again.decode(ClassifyResponse.self).certificate?.radiusL2 == c.radiusL2)
        }
    }

    @Test func classify_withoutCertify_hasNoCertificate() async throws {
        try await TestService.with { s in
            let r = try await s.request("POST", "/v1/classify", body: try TestService.png())
            #expect(r.status == 200 && r.json["certificate"] == nil)
        }
    }

    /// With n = 1 the Clopper–Pearson bound is at most α < 1/2: CERTIFY must abstain, a normal 200.
    @Test func abstention_isANormal200WithANullLabel() async throws {
        try await TestService.with { s in
            let r = try await s.request("POST", "/v1/classify?certify=true&n=1&purifier=none", body: try TestService.png())
            #expect(r.status == 200)
            #expect((r.json["certificate"] as? [String: Any])?["label"] is NSNull)   // null on the wire, not absent
            let c = try #require(try r.decode(ClassifyResponse.self).certificate)
            #expect(c.abstained)
            #expect(c.label == nil)
            #expect(c.radiusL2 == 0)
            #expect(c.denoiser == "none")
        }
    }

    @Test func modelEntrySmoothingSigma_isTheDefault() async throws {
        var cfg = TestService.configuration()
        cfg.models.entries[0].smoothingSigma = 0.5
        try await TestService.with(cfg) { s in
            let r = try await s.request("POST", "/v1/classify?certify=true&n=50&n0=10", body: try TestService.png())
            #expect(try r.decode(ClassifyResponse.self).certificate?.sigma == 0.5)
            let asked = try await s.request("POST", "/v1/classify?certify=true&n=50&n0=10&sigma=0.12", body: try TestService.png())
            #expect((try asked.decode(ClassifyResponse.self).certificate?.sigma).map(Float.init) == 0.12)
        }
    }

    @Test(arguments: [
        ("n=0", "n"), ("n=10001", "n"), ("n=abc", "n"), ("n0=0", "n0"), ("n0=5000", "n0"),
        ("alpha=0", "alpha"), ("alpha=0.7", "alpha"), ("alpha=nan", "alpha"), ("alpha=-1", "alpha"),
        ("sigma=0", "sigma"), ("sigma=-0.5", "sigma"), ("sigma=9", "sigma"), ("sigma=inf", "sigma"),
        ("purifier=jpeg", "purifier"),
    ])
    func invalidParameters_are400NamingTheParameter(query: String, name: String) async throws {
        try await TestService.with { s in
            let r = try await s.request("POST", "/v1/classify?certify=true&\(query)", body: try TestService.png())
            #expect(r.status == 400)
            let message = r.error?.message ?? ""
            #expect(message.hasPrefix(name + " "), "\(query): \(message)")
        }
    }

    @Test func multipartBatch_beyondTheSampleBudget_is400_withinItEachImageIsCertified() async throws {
        try await TestService.with { s in
            let (body, type) = TestService.multipart([try TestService.png(seed: 1), try TestService.png(seed: 2)])
            let over = try await s.request("POST", "/v1/classify?certify=true&n=6000&n0=10", body: body, headers: ["Content-Type": type])
            #expect(over.status == 400)
            let message = over.error?.message ?? ""
            #expect(message.hasPrefix("n: ") && message.contains("12020"), "\(message)")
            let ok = try await s.request("POST", "/v1/classify?certify=true&n=50&n0=10", body: body, headers: ["Content-Type": type])
            #expect(ok.status == 200)
            let results = try ok.decode(ClassifyResponse.self).results
            #expect(results.count == 2 && results.allSatisfy { $0.certificate?.n == 50 })
            #expect(ok.json["certificate"] == nil)   // only single-image replies mirror it at the top
        }
    }

    @Test func certificationParameterWithoutCertify_is400() async throws {
        try await TestService.with { s in
            let r = try await s.request("POST", "/v1/classify?n=100", body: try TestService.png())
            #expect(r.status == 400)
            let bad = try await s.request("POST", "/v1/classify?certify=maybe", body: try TestService.png())
            #expect(bad.status == 400)
        }
    }

    @Test func openInference_certifyParameter_addsCertifiedOutputs() async throws {
        try await TestService.with { s in
            let input: [String: Any] = ["name": "input", "shape": [2, 8, 8, 1], "datatype": "FP32",
                                        "data": (0..<128).map { Float($0 % 7) / 7 }]
            let body = try JSONSerialization.data(withJSONObject: [
                "inputs": [input], "parameters": ["certify": true, "n": 200, "n0": 20, "purifier": "none", "seed": 1]])
            let r = try await s.request("POST", "/v2/models/toy/infer", body: body)
            #expect(r.status == 200)
            let outputs = try #require(r.json["outputs"] as? [[String: Any]])
            let labels = try #require(outputs.first { $0["name"] as? String == "certified_label" })
            let radii = try #require(outputs.first { $0["name"] as? String == "certified_radius_l2" })
            #expect(labels["shape"] as? [Int] == [2] && radii["shape"] as? [Int] == [2])
            #expect((labels["data"] as? [Int])?.allSatisfy { (-1...2).contains($0) } == true)
            let parameters = try #require(r.json["parameters"] as? [String: Any])
            #expect(parameters["certify_n"] as? String == "200" && parameters["certify_denoiser"] as? String == "none")
            let bad = try JSONSerialization.data(withJSONObject: ["inputs": [input], "parameters": ["certify": true, "alpha": 2]])
            #expect(try await s.request("POST", "/v2/models/toy/infer", body: bad).status == 400)
            // Two images × (n + n0) beyond maxN + maxN0 samples in one request.
            let heavy = try JSONSerialization.data(withJSONObject: ["inputs": [input], "parameters": ["certify": true, "n": 9000]])
            #expect(try await s.request("POST", "/v2/models/toy/infer", body: heavy).status == 400)
        }
    }
}
