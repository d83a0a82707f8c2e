import Foundation
import Testing
import TestSupport
import Purification
@testable import Service

/// The shipped adversarially trained models (issue 19) load from models/ through the default
/// configuration's entries, serve with no purifier by default, list their measured robustness
/// (with the white-box cell at the training ε) and classify a demo test image. Skipped when the
/// model files are absent.
@Suite("Shipped robust models", .serialized, .computeBound)
struct ShippedRobustModelsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// Name, training ε, a demo sample and its label.
    static let shipped: [(name: String, epsilon: Double, sample: String, label: String)] = [
        ("mnist-robust", 0.3, "mnist-7.png", "7"),
    ]
    static let available = shipped.allSatisfy {
        FileManager.default.fileExists(atPath: root.appendingPathComponent("models/\($0.name).json").path)
    }

    @Test(.enabled(if: available)) func robustEntries_serveWithoutPurifier_andListTheirRobustness() async throws {
        let names = Self.shipped.map(\.name)
        var cfg = TestService.configuration()
        cfg.models.directory = Self.root.appendingPathComponent("models").path
        cfg.models.entries = ServiceConfiguration().models.entries.filter { names.contains($0.name) }
        #expect(cfg.models.entries.map(\.name) == names)
        #expect(cfg.models.entries.allSatisfy { $0.defaultPurifier == PurifierKind.none })
        cfg.models.defaultModel = names[0]
        let registry = ModelRegistry(configuration: cfg)
        try await offPool { try registry.loadAndWarm() }
        try await TestService.with(cfg, registry: registry) { s in
            let listing = try await s.request("GET", "/v1/models")
            let models = try #require(listing.json["models"] as? [[String: Any]])
            for model in Self.shipped {
                let entry = try #require(models.first { $0["name"] as? String == model.name })
                let claims = try #require(entry["robustness"] as? [[String: Any]])
                let whiteBox = try #require(claims.first {
                    $0["defense"] as? String == "none" && abs(($0["epsilon"] as? Double ?? 0) - model.epsilon) < 1e-6
                }, "\(model.name): \(claims)")
                #expect(whiteBox["norm"] as? String == "linf" && (whiteBox["images"] as? Int ?? 0) >= 1000, "\(model.name)")
                let robust = try #require(whiteBox["robust_accuracy"] as? Double), clean = try #require(whiteBox["clean_accuracy"] as? Double)
                #expect(robust > 0 && robust < clean, "\(model.name): \(robust) robust, \(clean) clean")
                let png = try #require(DemoSamples.all.first { $0.name == model.sample }.flatMap { Data(base64Encoded: $0.base64PNG) })
                let r = try await s.request("POST", "/v1/classify?model=\(model.name)", body: png)
                #expect(r.status == 200)
                let reply = try r.decode(ClassifyResponse.self)
                #expect(reply.purifier.name == "none" && reply.predictions?.first?.label == model.label, "\(model.name): \(reply)")
            }
        }
    }
}
