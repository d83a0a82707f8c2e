import Testing
import Engine
import NeuralNet
import Purification
@testable import Attacks
import AttackTestSupport
import TestSupport

@Suite("Attack invariants and effectiveness", .computeBound)
struct AttackInvariantTests {
    static func linf(_ a: Tensor, _ b: Tensor) -> Float { a.maxAbsDifference(b) }

    @Test(arguments: [AttackKind.fgsm, .ifgsm, .pgd, .cw])
    func everyAttack_staysInTheBall_andInTheUnitRange(kind: AttackKind) throws {
        let classifier = try TinyModels.smoothClassifier()
        let model = TinyModels.defended(classifier: classifier, vae: try TinyModels.smoothVAE())
        let x = TinyModels.randomImages(6, seed: 8)
        var settings = AttackSettings()
        settings.pgdSteps = 8
        settings.eotSamples = 2
        settings.cw = CarliniWagnerL2(binarySteps: 2, steps: 15, learningRate: 0.1, initialConstant: 10)
        let targets: [any AttackTarget] = [
            ClassifierTarget(classifier: classifier),
            try DefendedTarget(model: model, options: DefenseOptions(purifier: .vae), backward: .exact, eotSamples: 2),
        ]
        for target in targets {
            for eps: Float in kind == .cw ? [0.5, 2] : [0.05, 0.3] {
                var rng = RandomSource(seed: 2)
                let adv = settings.run(kind, epsilon: eps, x: x, labels: [0, 1, 2, 0, 1, 2], target: target, rng: &rng)
                #expect(adv.shape == x.shape)
                #expect(adv.storage.allSatisfy { $0 >= 0 && $0 <= 1 })
                if kind == .cw {
                    let size = x.itemCount
                    for b in 0..<x.batchSize {
                        var s: Float = 0
                        for i in (b * size)..<((b + 1) * size) { s += (adv.storage[i] - x.storage[i]) * (adv.storage[i] - x.storage[i]) }
                        #expect(s.squareRoot() <= eps + 1e-4)
                    }
                } else {
                    #expect(Self.linf(adv, x) <= eps + 1e-6)
                }
            }
        }
    }

    @Test func projection_clipsToBallAndUnitRange() {
        let origin = Tensor(shape: [1, 4], storage: [0, 0.5, 1, 0.98])
        var adv = Tensor(shape: [1, 4], storage: [-0.3, 0.9, 1.4, 0.9])
        LinfAttack.project(&adv, around: origin, epsilon: 0.1)
        #expect(adv.storage == [0, 0.6, 1, 0.9])
        let l2 = CarliniWagnerL2.projectL2(Tensor(shape: [1, 2], storage: [0.3, 0.4]), around: Tensor(shape: [1, 2], storage: [0, 0]), radius: 0.25)
        #expect(abs(l2.storage[0] - 0.15) < 1e-6 && abs(l2.storage[1] - 0.2) < 1e-6)
    }

    @Test func attacks_lowerTheUndefendedAccuracy() throws {
        let (x, y) = TinyModels.dataset(count: 30)
        let classifier = try TinyModels.templateClassifier()
        let target = ClassifierTarget(classifier: classifier)
        func accuracy(_ t: Tensor) -> Double {
            var c = ForwardContext.inference(seed: 0)
            return Double(zip(classifier(t, context: &c).argmaxPerItem(), y).filter { $0 == $1 }.count) / Double(y.count)
        }
        let clean = accuracy(x)
        #expect(clean > 0.95)
        var rng = RandomSource(seed: 1)
        let settings = AttackSettings()
        let fgsm = accuracy(settings.run(.fgsm, epsilon: 0.3, x: x, labels: y, target: target, rng: &rng))
        let pgd = accuracy(settings.run(.pgd, epsilon: 0.3, x: x, labels: y, target: target, rng: &rng))
        let weak = accuracy(settings.run(.ifgsm, epsilon: 0.02, x: x, labels: y, target: target, rng: &rng))
        #expect(fgsm < clean - 0.5)
        #expect(pgd <= fgsm)
        #expect(weak > fgsm)
        // CW finds small fooling perturbations for (nearly) every image.
        var cw = CarliniWagnerL2(binarySteps: 3, steps: 40, learningRate: 0.05, initialConstant: 1)
        cw.confidence = 0
        let minimal = cw.perturb(x, labels: y, target: target, rng: &rng)
        #expect(accuracy(minimal) < 0.1)
        #expect(Distortion(original: x, adversarial: minimal).meanL2 < 2)
    }
}
