import Testing
import Foundation
import Synchronization
import Attacks
import AttackTestSupport
@testable import Evaluation
import TestSupport

/// The strong suite's runner on the grid evaluator: the per-image worst case, the sanity
/// checks, and resuming an interrupted run.
@Suite("Strong evaluation suite: runner and sanity checks", .computeBound)
struct StrongSuiteRunTests {
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
