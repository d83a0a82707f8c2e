import Foundation
import Testing
import NeuralNet
import Purification
@testable import Service

/// `GET /v1/models` states the certified accuracy measured for each classifier, read from the
/// `certification` of its model file (empty for a model that has none), and `certify=true` on a
/// model loaded from files smooths with the σ of its card (`noise_sigma`).
@Suite struct ModelCertificationListingTests {
    static let claim = CertificationClaim(sigma: 0.5, n: 10_000, n0: 100, alpha: 0.001, denoiser: "none", images: 500,
                                          abstained: 2, radii: [0, 0.5, 1], certifiedAccuracy: [0.988, 0.96, 0.882],
                                          command: "vaeguard evaluate certify --dataset mnist --sigma 0.5")

    /// A folder with `toy` (certification claim, noise_sigma 0.5) and `plain` (neither).
    static func service(_ body: (TestService) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vaeguard-certification-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let models = try TestService.models()
        try NeuralNetFiles.save(models[0], to: dir, certification: [claim], metadata: ["noise_sigma": "0.5"])
        let plain = DefendedModel(name: "plain", version: "1.0.0", labels: models[0].labels, classifier: models[0].classifier,
                                  vae: nil, patchVAE: nil, threshold: 0.01)
        try NeuralNetFiles.save(plain, to: dir)
        var cfg = TestService.configuration()
        cfg.models.directory = dir.path
        cfg.models.entries = [.init(name: "toy", classifier: "toy-classifier", threshold: 0.01, defaultPurifier: PurifierKind.none),
                              .init(name: "plain", classifier: "plain-classifier", threshold: 0.01)]
        let registry = ModelRegistry(configuration: cfg)
        try registry.loadAndWarm()
        try await TestService.with(cfg, registry: registry, body)
    }

    @Test func models_listTheCertificationRecordedInTheClassifierFile() async throws {
        try await Self.service { s in
            let r = try await s.request("GET", "/v1/models")
            #expect(r.status == 200)
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            let listing = try decoder.decode(ModelListing.self, from: r.body)
            let byName = Dictionary(uniqueKeysWithValues: listing.models.map { ($0.name, $0) })
            #expect(byName["toy"]?.certification == [Self.claim])
            #expect(byName["plain"]?.certification == [])
            // On the wire the keys are snake_case, as docs/openapi.yaml says.
            let raw = try #require((r.json["models"] as? [[String: Any]])?.first { $0["name"] as? String == "toy" })
            let first = try #require((raw["certification"] as? [[String: Any]])?.first)
            #expect(first["certified_accuracy"] as? [Double] == [0.988, 0.96, 0.882])
            #expect(first["sigma"] as? Double == 0.5 && first["n0"] as? Int == 100 && first["denoiser"] as? String == "none")
            #expect(Set(first.keys) == ["sigma", "n", "n0", "alpha", "denoiser", "images", "abstained", "radii",
                                        "certified_accuracy", "command"])
        }
    }

    @Test func certify_smoothsWithTheCardsNoiseSigma() async throws {
        try await Self.service { s in
            let toy = try await s.request("POST", "/v1/classify?model=toy&certify=true&n=50&n0=10&seed=1", body: try TestService.png())
            #expect(try toy.decode(ClassifyResponse.self).certificate?.sigma == 0.5)
            // No card σ and no entry σ: certification.defaultSigma.
            let plain = try await s.request("POST", "/v1/classify?model=plain&certify=true&n=50&n0=10&seed=1&purifier=none",
                                            body: try TestService.png())
            #expect(try plain.decode(ClassifyResponse.self).certificate?.sigma == Double(ServiceConfiguration().certification.defaultSigma))
        }
    }
}
