import Testing
import Foundation
import Purification
@testable import VAEGuardCommands

/// The detection evaluations flag as the service does: each purifier at its configured threshold
/// (the patch VAE's scores live on another scale than the whole-image VAE's).
@Suite("Detection evaluation: the deployed thresholds")
struct DetectionThresholdTests {
    static func config(_ text: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("vaeguard-thresholds-\(UUID().uuidString).json")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    @Test func configurationFile_givesEachPurifierItsThreshold() throws {
        let path = try Self.config("""
            {"models": {"entries": [{"name": "mnist", "classifier": "mnist-classifier", "vae": "mnist-vae",
              "patchVAE": "patch-vae-gray-16", "threshold": 0.02, "purifierThresholds": {"patch-vae": 0.004}}]}}
            """)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let t = EvaluateDetection.configuredThresholds(dataset: "mnist", explicit: nil, configPath: path)
        #expect(t.threshold == 0.02 && t.purifierThresholds == [.patchVAE: 0.004] && t.source == path)
    }

    @Test func builtInDefault_keepsThePatchVAEThreshold() {
        let t = EvaluateDetection.configuredThresholds(dataset: "cifar10", explicit: nil, configPath: "/nonexistent/vaeguard.json")
        #expect(t.source == "built-in default")
        #expect(t.threshold == 0.005 && t.purifierThresholds[.patchVAE] == 0.0021)
    }

    @Test func explicitThreshold_appliesToEveryPurifier() {
        let t = EvaluateDetection.configuredThresholds(dataset: "mnist", explicit: 0.5, configPath: "config/vaeguard.json")
        #expect(t.threshold == 0.5 && t.purifierThresholds.isEmpty)
    }
}
