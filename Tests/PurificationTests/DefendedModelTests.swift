import Testing
import Engine
import NeuralNet
@testable import Purification
import TestSupport

@Suite("Defended model: options, ensembles, scores", .computeBound)
struct DefendedModelTests {
    static func model(threshold: Float = 0.01) throws -> DefendedModel {
        var rng = RandomSource(seed: 4)
        let classifier = try Sequential(inputShape: [8, 8, 1], layers: [Flatten(), Dense(inFeatures: 64, outFeatures: 3, name: "c", rng: &rng)])
        return DefendedModel(name: "toy", version: "1", labels: ["a", "b", "c"], classifier: classifier,
                             vae: try TestNetworks.identityVAE(patch: 8, channels: 1),
                             patchVAE: try TestNetworks.identityVAE(patch: 4, channels: 1), threshold: threshold)
    }

    @Test func invalidOptions_areRejected() throws {
        let m = try Self.model()
        for bad in [DefenseOptions(samples: 0), DefenseOptions(samples: 1_000_000_000), DefenseOptions(purifier: .jpeg, jpegQuality: 500)] {
            #expect(throws: PurificationError.self) { _ = try m.purifier(for: bad) }
        }
    }

    @Test func identityPurifiers_keepProbabilities_andScoreZero() throws {
        let m = try Self.model()
        var rng = RandomSource(seed: 1)
        let x = Tensor(shape: [2, 8, 8, 1], storage: (0..<128).map { _ in rng.nextUniform() })
        let reference = try m.classify(x, options: DefenseOptions(purifier: .none), rng: &rng)
        for kind in [PurifierKind.vae, .patchVAE] {
            for ensemble in DefenseOptions.Ensemble.allCases {
                let r = try m.classify(x, options: DefenseOptions(purifier: kind, samples: 3, ensemble: ensemble), rng: &rng)
                for (a, b) in zip(r, reference) {
                    #expect(zip(a.probabilities, b.probabilities).allSatisfy { abs($0 - $1) < 1e-5 })
                    #expect(a.reconstructionError < 1e-9)
                    #expect(!a.suspectedAdversarial)
                }
            }
        }
    }

    @Test func jpegPurifier_changesTheImage_andTheScoreFlagsIt() throws {
        let m = try Self.model(threshold: 1e-6)
        var rng = RandomSource(seed: 3)
        let x = Tensor(shape: [1, 8, 8, 1], storage: (0..<64).map { _ in rng.nextUniform() })
        let r = try m.classify(x, options: DefenseOptions(purifier: .jpeg, jpegQuality: 10), rng: &rng)
        #expect(r[0].reconstructionError > 1e-4)
        #expect(r[0].suspectedAdversarial)
        #expect(abs(r[0].probabilities.reduce(0, +) - 1) < 1e-5)
    }

    @Test func perPurifierThreshold_overridesTheModelThreshold() throws {
        let base = try Self.model(threshold: 1e-6)
        let m = DefendedModel(name: base.name, version: base.version, labels: base.labels, classifier: base.classifier,
                              vae: base.vae, patchVAE: base.patchVAE, threshold: 1e-6, purifierThresholds: [.jpeg: 1])
        var rng = RandomSource(seed: 3)
        let x = Tensor(shape: [1, 8, 8, 1], storage: (0..<64).map { _ in rng.nextUniform() })
        let r = try m.classify(x, options: DefenseOptions(purifier: .jpeg, jpegQuality: 10), rng: &rng)
        #expect(r[0].reconstructionError > 1e-4)
        #expect(!r[0].suspectedAdversarial)
        #expect(m.threshold(for: .jpeg) == 1 && m.threshold(for: .vae) == 1e-6)
    }

    @Test func seededRequests_areReproducible() throws {
        let m = try Self.model()
        let x = Tensor(shape: [1, 8, 8, 1], repeating: 0.5)
        var r1 = RandomSource(seed: 9), r2 = RandomSource(seed: 9)
        let a = try m.purify(x, options: DefenseOptions(purifier: .jpeg), rng: &r1)
        let b = try m.purify(x, options: DefenseOptions(purifier: .jpeg), rng: &r2)
        #expect(a.images == b.images)
    }
}
