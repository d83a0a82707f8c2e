import Testing
import TestSupport
import Foundation
import Engine
import NeuralNet
@testable import Purification

/// The one model loader: what it loads, what it reports missing, how it fails.
@Suite("Model loader: files, missing purifiers, errors, fingerprints", .computeBound)
struct ModelLoaderTests {
    /// A folder with `toy-classifier` (with robustness and certification claims and a noise σ) and `toy-vae`,
    /// both 8×8 gray, and `wide-vae` (16×16, which fits no classifier here).
    static func folder() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vg-loader-\(UUID().uuidString)")
        let model = try ImagePurifierTests.model()
        let claim = RobustnessClaim(norm: "linf", epsilon: 0.3, defense: "none", attacker: "oblivious", suite: "pgd", images: 10,
                                    cleanAccuracy: 0.9, robustAccuracy: 0.5, command: "vaeguard evaluate")
        let certified = CertificationClaim(sigma: 0.25, n: 100, n0: 10, alpha: 0.001, denoiser: "none", images: 10, abstained: 1,
                                           radii: [0, 0.25], certifiedAccuracy: [0.8, 0.4], command: "vaeguard evaluate certify")
        try ModelFile.save(.classifier(model.classifier),
                           architecture: ModelArchitecture(name: "toy-classifier", version: "1.2.0", kind: .classifier,
                                                           inputShape: model.inputShape, labels: model.labels,
                                                           layers: model.classifier.specs, weights: "toy-classifier.safetensors",
                                                           metadata: ["noise_sigma": "0.25"], robustness: [claim],
                                                           certification: [certified]),
                           to: dir)
        for (name, vae) in [("toy-vae", model.vae!), ("wide-vae", try TestNetworks.identityVAE(patch: 16, channels: 1))] {
            try ModelFile.save(.vae(vae), architecture: ModelArchitecture(name: name, version: "1.0.0", kind: .vae, inputShape: vae.inputShape,
                                                                          encoder: vae.encoder.specs, latentDimension: vae.latentDimension,
                                                                          decoder: vae.decoder.specs, weights: "\(name).safetensors"),
                               to: dir)
        }
        return dir
    }

    /// The loader error `body` throws; nil when it throws none (or another error).
    static func error(_ body: () throws -> Void) -> ModelLoadError? {
        do { try body() } catch { return error as? ModelLoadError }
        return nil
    }

    @Test func loadsTheClassifierAndVAE_withThresholdsLabelsSigmaRobustnessAndCertification() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let loaded = try ModelLoader(directory: dir).load(ModelSpec(name: "toy", classifier: .named("toy-classifier"),
                                                                    vae: .named("toy-vae"), threshold: 0.01,
                                                                    purifierThresholds: [.jpeg: 0.5]))
        let m = loaded.model
        #expect(m.name == "toy" && m.version == "1.2.0" && m.labels == ["a", "b", "c"])
        #expect(m.availablePurifiers == [.none, .jpeg, .vae])
        #expect(m.threshold(for: .vae) == 0.01 && m.threshold(for: .jpeg) == 0.5)
        #expect(m.smoothingSigma == 0.25)
        #expect(m.robustness.map(\.robustAccuracy) == [0.5])
        #expect(m.certification.map(\.certifiedAccuracy) == [[0.8, 0.4]])
        #expect(loaded.missing.isEmpty)
        #expect(Set(loaded.fingerprint.keys) == ["classifier", "vae"])
    }

    @Test func anUnnamedSpec_takesTheClassifiersName() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let m = try ModelLoader(directory: dir).load(ModelSpec(classifier: .named("toy-classifier"))).model
        #expect(m.name == "toy-classifier" && m.vae == nil && m.threshold == .infinity)
    }

    @Test func aMissingVAE_isReported_andItsPurifierLeftOut() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let loaded = try ModelLoader(directory: dir).load(ModelSpec(name: "toy", classifier: .named("toy-classifier"),
                                                                    vae: .named("toy-vae"), patchVAE: .named("absent-vae")))
        #expect(loaded.missing == [.init(kind: .patchVAE, file: "absent-vae")])
        #expect(loaded.model.availablePurifiers == [.none, .jpeg, .vae])
        #expect(loaded.description.contains("patch vae none"))
    }

    @Test func aMissingClassifier_orFolder_orFile_isAnError() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let loader = ModelLoader(directory: dir)
        #expect(Self.error { _ = try loader.load(ModelSpec(name: "toy", classifier: .named("absent"))) }
            == .classifierMissing(model: "toy", classifier: "absent", directory: dir.path))
        #expect(Self.error { _ = try ModelLoader(directory: nil).load(ModelSpec(classifier: .named("toy-classifier"))) }
            == .noModelsFolder)
        // A file asked for by path must exist: someone named that very file.
        let path = dir.appendingPathComponent("nowhere.json")
        guard case .unreadable(let file, _)? = Self.error({ _ = try loader.load(ModelSpec(classifier: .named("toy-classifier"),
                                                                                           vae: .file(path))) }) else {
            Issue.record("expected .unreadable")
            return
        }
        #expect(file == path.path)
    }

    @Test func badJSON_isUnreadable_butOnlyWhenItIsAskedFor() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("{ not json".utf8).write(to: dir.appendingPathComponent("broken.json"))
        let loader = ModelLoader(directory: dir)
        let error = Self.error { _ = try loader.load(ModelSpec(classifier: .named("broken"))) }
        guard case .unreadable(let file, let reason)? = error else {
            Issue.record("expected .unreadable, got \(String(describing: error))")
            return
        }
        #expect(file == "broken" && reason.contains("not a valid architecture file"))
        #expect(error?.description.hasPrefix("cannot load 'broken': ") == true)
        // The broken file beside them does not stop other models from loading.
        #expect(try loader.load(ModelSpec(classifier: .named("toy-classifier"))).model.name == "toy-classifier")
    }

    @Test func wrongKindsAndShapes_areErrors() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let loader = ModelLoader(directory: dir)
        #expect(Self.error { _ = try loader.load(ModelSpec(name: "toy", classifier: .named("toy-vae"))) }
            == .wrongKind(model: "toy", file: "toy-vae", expected: "classifier"))
        #expect(Self.error { _ = try loader.load(ModelSpec(name: "toy", classifier: .named("toy-classifier"), vae: .named("toy-classifier"))) }
            == .wrongKind(model: "toy", file: "toy-classifier", expected: "VAE"))
        #expect(Self.error { _ = try loader.load(ModelSpec(name: "toy", classifier: .named("toy-classifier"), vae: .named("wide-vae"))) }
            == .shapeMismatch(model: "toy", reason: "VAE input [16, 16, 1] ≠ classifier input [8, 8, 1]"))
    }

    @Test func theFingerprint_isStable_andDoesNotDependOnTheFolder() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let spec = ModelSpec(classifier: .named("toy-classifier"), vae: .named("toy-vae"))
        let first = try ModelLoader(directory: dir).load(spec).fingerprint
        #expect(try ModelLoader(directory: dir).load(spec).fingerprint == first)
        let moved = FileManager.default.temporaryDirectory.appendingPathComponent("vg-loader-moved-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: dir, to: moved)
        defer { try? FileManager.default.removeItem(at: moved) }
        #expect(try ModelLoader(directory: moved).load(spec).fingerprint == first)
        #expect(first["classifier"]?.hasPrefix("toy-classifier@1.2.0 sha256:") == true)
        #expect(first.values.allSatisfy { !$0.contains(dir.path) && !$0.contains("unknown") })
    }

    @Test func aFileNamedOtherwise_isFoundByItsArchitectureName() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.moveItem(at: dir.appendingPathComponent("toy-vae.json"), to: dir.appendingPathComponent("renamed.json"))
        let loaded = try ModelLoader(directory: dir).load(ModelSpec(classifier: .named("toy-classifier"), vae: .named("toy-vae")))
        #expect(loaded.model.vae != nil && loaded.missing.isEmpty)
    }

    @Test func singleNetworks_loadByPath_andAWrongKindIsAnError() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let classifierURL = dir.appendingPathComponent("toy-classifier.json"), vaeURL = dir.appendingPathComponent("toy-vae.json")
        #expect(try ModelLoader.classifier(at: classifierURL).inputShape == [8, 8, 1])
        #expect(try ModelLoader.vae(at: vaeURL).inputShape == [8, 8, 1])
        #expect(Self.error { _ = try ModelLoader.classifier(at: vaeURL) }
            == .wrongKind(model: "toy-vae", file: vaeURL.path, expected: "classifier"))
        #expect(Self.error { _ = try ModelLoader.vae(at: classifierURL) }
            == .wrongKind(model: "toy-classifier", file: classifierURL.path, expected: "VAE"))
    }
}
