import Testing
import Engine
import NeuralNet
import Purification
@testable import Attacks
import AttackTestSupport
import TestSupport

/// `/v1/attack`'s computation without the server: the 8-bit rounding inside the ε-ball, the
/// three panels, and the cost estimate.
@Suite("Attack demonstration (/v1/attack's computation)", .computeBound)
struct AttackDemonstrationTests {
    /// Tiny images rounded to 8-bit levels, as decoded uploads are.
    static func eightBitImages(_ n: Int) -> Tensor {
        TinyModels.dataset(count: n).images.map { ($0 * 255).rounded() / 255 }
    }

    static func isEightBit(_ t: Tensor) -> Bool {
        t.storage.allSatisfy { abs($0 * 255 - ($0 * 255).rounded()) < 1e-3 && $0 >= 0 && $0 <= 1 }
    }

    @Test(arguments: [Float(1) / 255, 0.03, 0.1])
    func quantize_staysOnEightBitLevels_insideTheBall(epsilon: Float) {
        let x = Self.eightBitImages(3)
        var rng = RandomSource(seed: 9)
        // Up to 1.5 ε away, and past [0, 1], so both the ball and the range must clip.
        var adv = x.map { $0 + 1.5 * epsilon * (2 * rng.nextUniform() - 1) }
        adv.storage[0] = -0.2
        adv.storage[1] = 1.3
        AttackDemonstration.quantize(&adv, around: x, epsilon: epsilon)
        #expect(Self.isEightBit(adv))
        #expect(adv.maxAbsDifference(x) <= epsilon + 1e-6)
    }

    @Test func withoutAnAttack_theAdversarialPanelIsTheOriginal() throws {
        let model = TinyModels.defended(classifier: try TinyModels.templateClassifier(), vae: try TinyModels.smoothVAE())
        let x = Self.eightBitImages(1)
        var options = DefenseOptions(purifier: .vae)
        options.sampling = .mean   // one deterministic reconstruction, so both panels score the same
        options.seed = 4
        let d = try AttackDemonstration.run(x, attack: nil, model: model, defense: options)
        #expect(d.adversarial == x)
        #expect(d.adversarialProbabilities == d.originalProbabilities)
        #expect(d.originalScore == d.adversarialScore)
        #expect(d.purified.shape == x.shape)
    }

    @Test func fgsm_foolsTheBareClassifier_withAnEightBitImageInTheBall() throws {
        let model = TinyModels.defended(classifier: try TinyModels.templateClassifier(), vae: try TinyModels.smoothVAE())
        let x = Self.eightBitImages(1)
        var options = DefenseOptions(purifier: .none)
        options.seed = 4
        let eps: Float = 0.3
        let d = try AttackDemonstration.run(x, attack: .fgsm(epsilon: eps), model: model, defense: options)
        func top(_ p: [Float]) -> Int { p.indices.max { p[$0] < p[$1] }! }
        #expect(top(d.adversarialProbabilities) != top(d.originalProbabilities))
        #expect(Self.isEightBit(d.adversarial))
        #expect(d.adversarial.maxAbsDifference(x) <= eps + 1e-6)
        // No purifier: the defended pipeline sees the adversarial image itself.
        #expect(d.purified == d.adversarial)
    }

    @Test func cost_growsByThreeClassifierPassesPerStep() throws {
        let model = TinyModels.defended(classifier: try TinyModels.templateClassifier(), vae: try TinyModels.smoothVAE())
        let options = DefenseOptions(purifier: .vae)
        let one = try AttackDemonstration.flops(steps: 1, model: model, defense: options)
        let ten = try AttackDemonstration.flops(steps: 10, model: model, defense: options)
        #expect(abs((ten - one) - 27 * model.classifier.forwardFLOPs) < 1e-6 * ten)
    }
}
