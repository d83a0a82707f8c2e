import Testing
import Foundation
import Engine
import NeuralNet
import Purification
import TestSupport
@testable import Attacks
import AttackTestSupport

/// The strong suite's attacks: APGD (CE, DLR, targeted DLR) and Square. The runner, the
/// per-image worst case and the sanity checks are in EvaluationTests/StrongSuiteRunTests.swift.
@Suite("Strong evaluation suite", .computeBound)
struct StrongSuiteTests {
    static func accuracy(_ adv: Tensor, labels: [Int], model: Sequential) -> Double {
        var context = ForwardContext.inference(seed: 0)
        return Double(zip(model(adv, context: &context).argmaxPerItem(), labels).filter { $0 == $1 }.count) / Double(labels.count)
    }

    /// A random linear 5-class classifier on 8×8 images (targeted DLR needs ≥ 4 classes).
    static func fiveClass() throws -> Sequential {
        var rng = RandomSource(seed: 8)
        return try Sequential(inputShape: [8, 8, 1], layers: [Flatten(), Dense(inFeatures: 64, outFeatures: 5, name: "d", rng: &rng)])
    }

    @Test func dlrLosses_gradientsMatchFiniteDifferences() {
        var rng = RandomSource(seed: 4)
        let logits = Tensor(shape: [3, 5], storage: (0..<15).map { _ in 3 * rng.nextNormal() })
        for loss in [AttackLoss.dlr, .targetedDLR(targets: [1, 4, 2])] {
            let (_, g) = loss.evaluate(logits: logits, labels: [0, 2, 3])
            let total = { (z: Tensor) in loss.evaluate(logits: z, labels: [0, 2, 3]).values.reduce(0.0) { $0 + Double($1) } }
            for pair in FiniteDifference.directional(at: logits, gradient: g, step: 1e-3, seed: 2, total) {
                #expect(FiniteDifference.relativeError(pair) < 1e-2, "\(loss): \(pair)")
            }
        }
        // DLR is invariant to shifting and scaling the logits.
        let shifted = logits.map { 3 * $0 + 7 }
        let a = AttackLoss.dlr.evaluate(logits: logits, labels: [0, 2, 3]).values
        let b = AttackLoss.dlr.evaluate(logits: shifted, labels: [0, 2, 3]).values
        for (u, v) in zip(a, b) { #expect(abs(u - v) < 1e-4) }
    }

    @Test func apgdCheckpoints_followTheReferenceSchedule() {
        #expect(APGD.checkpoints(iterations: 100) == [22, 41, 57, 70, 80, 87, 93, 99])
        #expect(APGD.checkpoints(iterations: 10) == [2, 3, 4, 5, 6, 7, 8, 9, 10])
    }

    @Test(arguments: [APGD.Objective.crossEntropy, .dlr])
    func apgd_drivesAToyModelToZero_atALargeEpsilon(_ objective: APGD.Objective) throws {
        let model = try TinyModels.templateClassifier()
        let (x, y) = TinyModels.dataset(count: 12)
        #expect(Self.accuracy(x, labels: y, model: model) == 1)
        var rng = RandomSource(seed: 1)
        let (adv, fooled) = APGD(epsilon: 0.5, objective: objective, iterations: 20)
            .perturb(x, labels: y, target: ClassifierTarget(classifier: model), rng: &rng)
        #expect(adv.maxAbsDifference(x) <= 0.5 + 1e-6)
        #expect(adv.storage.allSatisfy { $0 >= 0 && $0 <= 1 })
        #expect(fooled.allSatisfy { $0 })
        #expect(Self.accuracy(adv, labels: y, model: model) == 0)
    }

    @Test func targetedAPGD_andSquare_driveAToyModelToZero() throws {
        let model = try Self.fiveClass()
        let x = TinyModels.randomImages(10, seed: 3)
        var context = ForwardContext.inference(seed: 0)
        let y = model(x, context: &context).argmaxPerItem()   // 100 % clean by construction
        let target = ClassifierTarget(classifier: model)
        var rng = RandomSource(seed: 2)
        let targeted = APGD(epsilon: 0.5, objective: .targetedDLR, iterations: 20, targets: 4).perturb(x, labels: y, target: target, rng: &rng)
        #expect(Self.accuracy(targeted.adversarial, labels: y, model: model) == 0)
        let square = SquareAttack(epsilon: 0.5, queries: 300).perturb(x, labels: y, target: target, rng: &rng)
        #expect(square.adversarial.maxAbsDifference(x) <= 0.5 + 1e-6)
        #expect(square.adversarial.storage.allSatisfy { $0 >= 0 && $0 <= 1 })
        #expect(Self.accuracy(square.adversarial, labels: y, model: model) == 0)
        #expect(square.fooled.allSatisfy { $0 })
    }

    @Test func attacks_atEpsilonZero_changeNothing() throws {
        let model = try TinyModels.templateClassifier()
        let (x, y) = TinyModels.dataset(count: 6)
        var rng = RandomSource(seed: 1)
        let target = ClassifierTarget(classifier: model)
        #expect(APGD(epsilon: 0, objective: .crossEntropy, iterations: 5).perturb(x, labels: y, target: target, rng: &rng).adversarial == x)
        let square = SquareAttack(epsilon: 0, queries: 5).perturb(x, labels: y, target: target, rng: &rng)
        #expect(square.adversarial == x && square.fooled.allSatisfy { !$0 })
    }

    @Test func squareSchedule_halvesTheWindowAsInTheReference() {
        #expect(SquareAttack.fraction(initial: 0.8, query: 1, total: 10_000) == 0.8)
        #expect(SquareAttack.fraction(initial: 0.8, query: 30, total: 10_000) == 0.4)
        #expect(SquareAttack.fraction(initial: 0.8, query: 2_500, total: 5_000) == 0.8 / 128)
        #expect(SquareAttack.fraction(initial: 0.8, query: 4_999, total: 5_000) == 0.8 / 512)
    }
}
