import Foundation
import Testing
import TestSupport
import Purification
@testable import Service

/// The shipped certification models (`mnist-certified`, `cifar10-certified`: classifiers trained
/// with Gaussian noise, issue 18 route 1) load from models/ through the default configuration's
/// entries, list their measured certification, and certify a demo test image at the σ of their
/// card (`noise_sigma`) without abstaining. Seeded, n = 1,000: about a second of compute.
/// Skipped when the model files are absent.
@Suite("Shipped certification models", .serialized, .computeBound)
struct ShippedCertifiedModelsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let names = ["mnist-certified", "cifar10-certified"]
    static let available = names.allSatisfy {
        FileManager.default.fileExists(atPath: root.appendingPathComponent("models/\($0).json").path)
    }

    /// The card's `noise_sigma` of the shipped file.
    static func cardSigma(_ name: String) throws -> Double {
        let data = try Data(contentsOf: root.appendingPathComponent("models/\(name).json"))
        let card = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        return try #require(((card?["metadata"] as? [String: String])?["noise_sigma"]).flatMap(Double.init))
    }

    @Test(.enabled(if: available)) func certifiedEntries_listTheirCertification_andCertifyAtTheCardsSigma() async throws {
        var cfg = TestService.configuration()
        cfg.models.directory = Self.root.appendingPathComponent("models").path
        cfg.models.entries = ServiceConfiguration().models.entries.filter { Self.names.contains($0.name) }
        #expect(cfg.models.entries.map(\.name) == Self.names)
        #expect(cfg.models.entries.allSatisfy { $0.defaultPurifier == PurifierKind.none })
        cfg.models.defaultModel = Self.names[0]
        let registry = ModelRegistry(configuration: cfg)
        try await offPool { try registry.loadAndWarm() }   // seconds of work: not on the cooperative pool
        try await TestService.with(cfg, registry: registry) { s in
            let listing = try await s.request("GET", "/v1/models")
            let models = try #require(listing.json["models"] as? [[String: Any]])
            for (name, sample, label) in [("mnist-certified", "mnist-7.png", "7"), ("cifar10-certified", "cifar10-cat.png", "cat")] {
                let sigma = try Self.cardSigma(name)
                let entry = try #require(models.first { $0["name"] as? String == name })
                let claims = try #require(entry["certification"] as? [[String: Any]])
                #expect(claims.contains { $0["sigma"] as? Double == sigma && $0["denoiser"] as? String == "none" }, "\(name): \(claims)")
                let png = try #require(DemoSamples.all.first { $0.name == sample }.flatMap { Data(base64Encoded: $0.base64PNG) })
                let r = try await s.request("POST", "/v1/classify?model=\(name)&certify=true&n=1000&seed=1", body: png)
                #expect(r.status == 200)
                let certificate = try #require(try r.decode(ClassifyResponse.self).certificate, "\(name)")
                #expect(certificate.sigma == sigma, "\(name): σ \(certificate.sigma), card \(sigma)")
                #expect(!certificate.abstained && certificate.label == label && certificate.radiusL2 > 0, "\(name): \(certificate)")
                #expect(certificate.denoiser == "none" && certificate.n == 1000)
            }
        }
    }
}
