import Testing
import Engine
import NeuralNet
import Purification
import TestSupport
@testable import Attacks
import AttackTestSupport

/// Finite-difference spot checks of the gradients every attack uses: directional derivatives
/// `(L(x+hd) − L(x−hd)) / 2h` against `⟨∇L, d⟩` for random directions d, with the random
/// numbers of the target held fixed (same seed on both sides: common random numbers).
@Suite("Attack gradients match finite differences", .computeBound)
struct GradientTests {
    static func check(_ target: any AttackTarget, loss: AttackLoss, seed: UInt64 = 21, tolerance: Double = 0.03) {
        let x = TinyModels.dataset(count: 4).images
        let labels = [0, 1, 2, 0]
        var rng = RandomSource(seed: seed)
        let g = target.lossGradient(x, loss: loss, labels: labels, rng: &rng).gradient
        func total(_ y: Tensor) -> Double {
            var r = RandomSource(seed: seed)
            return target.lossGradient(y, loss: loss, labels: labels, rng: &r).losses.reduce(0) { $0 + Double($1) }
        }
        for pair in FiniteDifference.directional(at: x, gradient: g, step: 5e-2, seed: 99, total) {
            #expect(FiniteDifference.relativeError(pair) < tolerance, "numeric \(pair.numeric) vs analytic \(pair.analytic)")
        }
    }

    @Test func classifierInputGradient_matchesFiniteDifference() throws {
        let target = ClassifierTarget(classifier: try TinyModels.smoothClassifier())
        Self.check(target, loss: .crossEntropy)
    }

    @Test func marginLossGradient_matchesFiniteDifference() throws {
        let target = ClassifierTarget(classifier: try TinyModels.smoothClassifier())
        Self.check(target, loss: .margin(confidence: 100))
    }

    @Test func gradientThroughVAE_withFixedNoise_matchesFiniteDifference() throws {
        let model = TinyModels.defended(classifier: try TinyModels.smoothClassifier(), vae: try TinyModels.smoothVAE())
        let target = try DefendedTarget(model: model, options: DefenseOptions(purifier: .vae), backward: .exact, eotSamples: 1)
        Self.check(target, loss: .crossEntropy)
    }

    @Test func eotAverage_matchesFiniteDifference_andIsTheMeanOfSingleDraws() throws {
        let model = TinyModels.defended(classifier: try TinyModels.smoothClassifier(), vae: try TinyModels.smoothVAE())
        let eot = try DefendedTarget(model: model, options: DefenseOptions(purifier: .vae), backward: .exact, eotSamples: 10)
        Self.check(eot, loss: .crossEntropy)
        // The EOT gradient is the average of 10 single-draw gradients with the same noise stream.
        let single = try DefendedTarget(model: model, options: DefenseOptions(purifier: .vae), backward: .exact, eotSamples: 1)
        let x = TinyModels.dataset(count: 3).images
        var r1 = RandomSource(seed: 5), r2 = RandomSource(seed: 5)
        let averaged = eot.lossGradient(x, loss: .crossEntropy, labels: [0, 1, 2], rng: &r1).gradient
        var sum = Tensor(shape: x.shape)
        for _ in 0..<10 { sum.add(single.lossGradient(x, loss: .crossEntropy, labels: [0, 1, 2], rng: &r2).gradient) }
        sum.scale(by: 0.1)
        #expect(averaged.maxAbsDifference(sum) < 1e-5)
        // …and the draws differ (the noise is really resampled).
        var r3 = RandomSource(seed: 6)
        let other = single.lossGradient(x, loss: .crossEntropy, labels: [0, 1, 2], rng: &r3).gradient
        #expect(other.maxAbsDifference(averaged) > 1e-6)
    }

    @Test func ensembleOfKReconstructions_gradient_matchesFiniteDifference() throws {
        let model = TinyModels.defended(classifier: try TinyModels.smoothClassifier(), vae: try TinyModels.smoothVAE())
        for ensemble in DefenseOptions.Ensemble.allCases {
            let target = try DefendedTarget(model: model, options: DefenseOptions(purifier: .vae, samples: 3, ensemble: ensemble),
                                            backward: .exact, eotSamples: 2)
            Self.check(target, loss: .crossEntropy)
        }
    }

    @Test func meanModeVAE_isDeterministic_andUsesOneDraw() throws {
        let model = TinyModels.defended(classifier: try TinyModels.smoothClassifier(), vae: try TinyModels.smoothVAE())
        let target = try DefendedTarget(model: model, options: DefenseOptions(purifier: .vae, sampling: .mean), backward: .exact,
                                        eotSamples: 10)
        #expect(!target.isStochastic && target.effectiveEOTSamples == 1)
        Self.check(target, loss: .crossEntropy)
    }

    @Test func gradientThroughPatchVAE_withEOT_matchesFiniteDifference() throws {
        // 4×4 patches at stride 2 and 3 on 8×8 images: overlaps of 1 to 4 patches per pixel.
        let model = TinyModels.defended(classifier: try TinyModels.smoothClassifier(), vae: nil,
                                        patchVAE: try TinyModels.smoothVAE(seed: 7, side: 4))
        for stride in [2, 3] {
            let target = try DefendedTarget(model: model, options: DefenseOptions(purifier: .patchVAE, patchStride: stride),
                                            backward: .exact, eotSamples: 3)
            #expect(target.isStochastic && target.effectiveEOTSamples == 3)
            Self.check(target, loss: .crossEntropy)
        }
        // `--threat adaptive` now differentiates through the patch VAE instead of BPDA.
        #expect(ThreatModel.bestAdaptive(for: try DefenseSpec(parsing: "patch-vae")) == .adaptiveEOT)
    }

    @Test func bpda_usesTheClassifierGradientAtThePurifiedImage() throws {
        let classifier = try TinyModels.smoothClassifier()
        let model = TinyModels.defended(classifier: classifier, vae: nil)
        let bpda = try DefendedTarget(model: model, options: DefenseOptions(purifier: .jpeg, jpegQuality: 30), backward: .identity,
                                      eotSamples: 10)
        let x = TinyModels.dataset(count: 3).images
        var rng = RandomSource(seed: 1)
        let g = bpda.lossGradient(x, loss: .crossEntropy, labels: [0, 1, 2], rng: &rng).gradient
        let purified = try JPEGPurifier(quality: 30).purify(x, rng: &rng)
        let direct = ClassifierTarget(classifier: classifier).lossGradient(purified, loss: .crossEntropy, labels: [0, 1, 2], rng: &rng)
        #expect(g.maxAbsDifference(direct.gradient) < 1e-6)
        #expect(throws: AttackError.self) {
            _ = try DefendedTarget(model: model, options: DefenseOptions(purifier: .jpeg), backward: .exact, eotSamples: 1)
        }
    }
}
