import Foundation
import Testing
import NeuralNet
import Purification
@testable import Service

/// `GET /v1/models` states what each classifier was measured to withstand, read from the
/// `robustness` of its model file, and nothing for a model that has none.
@Suite struct ModelRobustnessListingTests {
    @Test func models_listTheRobustnessRecordedInTheClassifierFile() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vaeguard-robustness-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let claim = RobustnessClaim(norm: "linf", epsilon: 0.3, defense: "none", attacker: "oblivious",
                                    suite: "apgd-ce, apgd-dlr, apgd-t, square; per-image worst case", images: 1000,
                                    cleanAccuracy: 0.987, robustAccuracy: 0.912, command: "vaeguard evaluate --suite strong")
        let models = try TestService.models()
        try NeuralNetFiles.save(models[0], to: dir, robustness: [claim])
        let plain = DefendedModel(name: "plain", version: "1.0.0", labels: models[1].labels, classifier: models[1].classifier,
                                  vae: nil, patchVAE: nil, threshold: 0.01)
        try NeuralNetFiles.save(plain, to: dir)
        var cfg = TestService.configuration()
        cfg.models.directory = dir.path
        cfg.models.entries = [.init(name: "toy", classifier: "toy-classifier", threshold: 0.01),
                              .init(name: "plain", classifier: "plain-classifier", threshold: 0.01)]
        let registry = ModelRegistry(configuration: cfg)
        try registry.loadAndWarm()
        try await TestService.with(cfg, registry: registry) { s in
            let r = try await s.request("GET", "/v1/models")
            #expect(r.status == 200)
            let listing = try JSONDecoder.snakeCase.decode(ModelListing.self, from: r.body)
            let byName = Dictionary(uniqueKeysWithValues: listing.models.map { ($0.name, $0) })
            #expect(byName["toy"]?.robustness == [claim])
            #expect(byName["plain"]?.robustness == [])
            // On the wire the keys are snake_case, as docs/openapi.yaml says.
            let raw = try #require((r.json["models"] as? [[String: Any]])?.first { $0["name"] as? String == "toy" })
            let first = try #require((raw["robustness"] as? [[String: Any]])?.first)
            #expect(first["robust_accuracy"] as? Double == 0.912 && first["clean_accuracy"] as? Double == 0.987)
        }
    }
}

private extension JSONDecoder {
    static var snakeCase: JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return d
    }
}
