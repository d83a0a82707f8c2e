import Testing
import Foundation
import Synchronization
import Engine
import NeuralNet
import Purification
import TestSupport
@testable import Attacks

/// The strong suite: APGD (CE, DLR, targeted DLR), Square, the per-image worst case and the
/// sanity checks.
@Suite("Strong evaluation suite")
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

    @Test func worstCase_isPerImageAcrossAttacks() {
        // Each attack alone leaves 2 of 4 correct, but never the same two: none survives all.
        let clean = [true, true, true, false]
        let a = [true, true, false, false], b = [false, false, true, true]
        #expect(StrongCell.worstCase(clean: clean, attacks: [a, b]) == [false, false, false, false])
        #expect(StrongCell.worstCase(clean: clean, attacks: [a, [true, false, true, true]]) == [true, false, false, false])
    }

    @Test func sanity_flagsNonMonotoneAccuracy_andABlackBoxThatBeatsTheWhiteBox() {
        let cell = { (eps: Double, robust: Int, square: Int) in
            StrongCell(defense: "none", threat: "oblivious", epsilon: eps, images: 10, cleanCorrect: 10,
                       correctAfter: ["apgd-ce": 6, "apgd-dlr": 7, "apgd-t": 5, "square": square], robust: robust, seconds: 0)
        }
        let good = StrongSanity.check([cell(0.1, 5, 8), cell(0.3, 3, 6)], unbounded: [:])
        #expect(good.monotoneInEpsilon && good.blackBoxBeatsWhiteBox.isEmpty)
        let bad = StrongSanity.check([cell(0.1, 3, 8), cell(0.3, 5, 4)], unbounded: [:])
        #expect(!bad.monotoneInEpsilon)
        #expect(bad.blackBoxBeatsWhiteBox.count == 1)
    }

    /// The strong suite's runner on the first `count` tiny images (template classifier, smooth
    /// VAE), with its results folder.
    static func evaluator(count: Int, defenses: String, threats: [ThreatModel]) throws -> (GridEvaluator, URL) {
        let (x, y) = TinyModels.dataset(count: count)
        let model = TinyModels.defended(classifier: try TinyModels.templateClassifier(), vae: try TinyModels.smoothVAE())
        let grid = EvaluationGrid(dataset: "tiny", attacks: [], epsilons: [:], defenses: try DefenseSpec.parseList(defenses),
                                  threats: threats, bestAdaptive: false, seeds: [1], settings: AttackSettings())
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("strong-\(UInt64.random(in: 0...UInt64.max))")
        return (GridEvaluator(model: model, images: x, labels: y, grid: grid, store: try ResultStore(directory: dir, resume: false),
                              batchSize: 5, workers: 2), dir)
    }

    @Test(arguments: [true, false])
    func runStrong_takesTheWorstCase_andRunsTheSanityChecks(cascade: Bool) throws {
        let (evaluator, dir) = try Self.evaluator(count: 9, defenses: "none,vae", threats: [.oblivious, .adaptiveEOT])
        defer { try? FileManager.default.removeItem(at: dir) }
        var suite = StrongSuite()
        suite.iterations = 10
        suite.squareQueries = 50
        suite.targets = 1
        suite.members = [.apgdCE, .apgdDLR, .square]
        suite.eotSamples = 2
        suite.cascade = cascade
        let (cells, sanity) = try evaluator.runStrong(suite, epsilons: [0.05, 0.4], sanity: true, log: { _ in })
        #expect(cells.count == 2 + 4)   // none: oblivious only; vae: oblivious and adaptive
        for cell in cells {
            #expect(cell.robust <= cell.correctAfter.values.min()!)
            if cascade { #expect(cell.robust == cell.correctAfter["square"]) }
            #expect(cell.robust <= cell.cleanCorrect)
        }
        #expect(cells.first { $0.defense == "none" && abs($0.epsilon - 0.4) < 1e-6 }?.robust == 0)
        #expect(sanity.unboundedAccuracy["none|oblivious"] == 0)
        #expect(sanity.unboundedAccuracy.count == 3)
    }

    @Test func runStrong_resume_keepsFinishedCells_andCheckpointsNewOnes() throws {
        let (evaluator, dir) = try Self.evaluator(count: 6, defenses: "none", threats: [.oblivious])
        defer { try? FileManager.default.removeItem(at: dir) }
        var suite = StrongSuite()
        suite.iterations = 5
        suite.members = [.apgdCE]
        // A finished cell with a count no real run gives (7 of 6 images) must come back untouched.
        let done = StrongCell(defense: "none", threat: "oblivious", epsilon: Double(Float(0.1)), images: 6, cleanCorrect: 6,
                              correctAfter: ["apgd-ce": 7], robust: 7, seconds: 0)
        let checkpoints = LockedCount()
        let (cells, sanity) = try evaluator.runStrong(suite, epsilons: [0.1, 0.4], sanity: true, previous: ([done], [:]),
                                                      log: { _ in }, checkpoint: { _, _ in checkpoints.increment() })
        #expect(cells.count == 2 && cells[0] == done)
        #expect(cells[1].robust <= 6)
        #expect(checkpoints.value == 2)   // the new cell, then the unbounded check
        #expect(sanity.unboundedAccuracy["none|oblivious"] != nil)
    }
}

final class LockedCount: Sendable {
    private let count = Mutex(0)
    func increment() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
