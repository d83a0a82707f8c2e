import Testing
import Engine
import NeuralNet
import Purification
import TestSupport
@testable import Attacks
import AttackTestSupport

/// The classifier and the reconstruction-error flag attacked together.
@Suite("Detector under attack", .computeBound)
struct DetectorAttackTests {
    static func model() throws -> DefendedModel {
        TinyModels.defended(classifier: try TinyModels.smoothClassifier(), vae: try TinyModels.smoothVAE())
    }

    static func scores(_ model: DefendedModel, _ x: Tensor, seed: UInt64) throws -> [Float] {
        var rng = RandomSource(seed: seed)
        return try model.classify(x, options: DefenseOptions(purifier: .vae), rng: &rng).map(\.reconstructionError)
    }

    @Test func penalisedGradient_matchesFiniteDifferences() throws {
        let model = try Self.model()
        let x = TinyModels.dataset(count: 4).images
        // A threshold at the median score: the penalty is active for some images, not others.
        let median = try Self.scores(model, x, seed: 1).sorted()[2]
        let target = try DetectorAwareTarget(model: model, options: DefenseOptions(purifier: .vae), threshold: median, weight: 3,
                                             eotSamples: 2)
        GradientTests.check(target, loss: .crossEntropy)
    }

    @Test func withAnUnreachableThreshold_itIsThePlainAdaptiveGradient() throws {
        let model = try Self.model()
        let (x, y) = TinyModels.dataset(count: 3)
        let options = DefenseOptions(purifier: .vae)
        let detector = try DetectorAwareTarget(model: model, options: options, threshold: 1e6, eotSamples: 2)
        let plain = try DefendedTarget(model: model, options: options, backward: .exact, eotSamples: 2)
        var r1 = RandomSource(seed: 5), r2 = RandomSource(seed: 5)
        let a = detector.lossGradient(x, loss: .crossEntropy, labels: y, rng: &r1)
        let b = plain.lossGradient(x, loss: .crossEntropy, labels: y, rng: &r2)
        #expect(a.gradient.maxAbsDifference(b.gradient) < 1e-5)
        #expect(zip(a.losses, b.losses).allSatisfy { abs($0 - $1) < 1e-5 })
    }

    @Test func passedImages_areMisclassifiedAndUnflagged_inTheBall() throws {
        let model = TinyModels.defended(classifier: try TinyModels.templateClassifier(), vae: try TinyModels.smoothVAE())
        let (x, y) = TinyModels.dataset(count: 6)
        let options = DefenseOptions(purifier: .vae)
        let threshold = try Self.scores(model, x, seed: 1).max()! * 1.5
        let target = try DetectorAwareTarget(model: model, options: options, threshold: threshold, eotSamples: 1)
        var rng = RandomSource(seed: 3)
        let (adv, passed) = try DetectorAttack(epsilon: 0.3, steps: 10).perturb(x, labels: y, target: target, model: model,
                                                                               options: options, rng: &rng)
        #expect(adv.maxAbsDifference(x) <= 0.3 + 1e-6)
        #expect(passed.count == 6)
        #expect(throws: AttackError.self) {
            try DetectorAwareTarget(model: model, options: DefenseOptions(purifier: .jpeg), threshold: 1, eotSamples: 1)
        }
    }
}
