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
        let (cells, sanity) = try evaluator.runStrong(suite, epsilons: [0.1, 0.4], sanity: true, previous: StrongProgress(cells: [done]),
                                                      log: { _ in }, checkpoint: { _ in checkpoints.increment() })
        #expect(cells.count == 2 && cells[0] == done)
        #expect(cells[1].robust <= 6)
        #expect(checkpoints.value == 2)   // the new cell, then the unbounded check
        #expect(sanity.unboundedAccuracy["none|oblivious"] != nil)
    }
}

extension StrongSuiteRunTests {
    /// A small cascade on 11 images in chunks of 4 (4 + 4 + 3), with the unbounded check.
    static func chunkedSuite() -> StrongSuite {
        var suite = StrongSuite()
        suite.iterations = 5
        suite.squareQueries = 30
        suite.members = [.apgdCE, .apgdDLR, .square]
        return suite
    }

    /// Stops a run at its `stopAt`-th checkpoint, keeping what that checkpoint saw.
    final class Interrupter: Sendable {
        let stopAt: Int
        private let state = Mutex<(count: Int, saved: StrongProgress?)>((0, nil))
        init(stopAt: Int) { self.stopAt = stopAt }
        var saved: StrongProgress? { state.withLock { $0.saved } }

        func checkpoint(_ progress: StrongProgress) throws(AttackError) {
            let stop = state.withLock { s -> Bool in
                s.count += 1
                s.saved = progress
                return s.count == stopAt
            }
            if stop { throw .io("interrupted") }
        }
    }

    /// Seconds differ from run to run; everything else must not.
    static func timeless(_ cells: [StrongCell]) -> [StrongCell] { cells.map { var c = $0; c.seconds = 0; return c } }

    /// Interrupted after the first chunk of the first cell, after a finished cell plus a chunk of
    /// the next, and inside the unbounded check: each resumed run ends with exactly the cells
    /// and sanity numbers of the run that was never interrupted.
    @Test(arguments: [1, 4, 7])
    func runStrong_resumedInsideACell_equalsAnUninterruptedRun(stopAt: Int) throws {
        // Through the randomized VAE with EOT: clean verdicts, attacks and verdicts all draw noise.
        let (evaluator, dir) = try Self.evaluator(count: 11, defenses: "vae", threats: [.adaptiveEOT])
        defer { try? FileManager.default.removeItem(at: dir) }
        var suite = Self.chunkedSuite()
        suite.eotSamples = 2
        let run = { (previous: StrongProgress, checkpoint: ((StrongProgress) throws(AttackError) -> Void)?) throws(AttackError) in
            try evaluator.runStrong(suite, epsilons: [0.03, 0.08], sanity: true, chunkImages: 4, previous: previous,
                                    log: { _ in }, checkpoint: checkpoint)
        }
        let whole = try run(StrongProgress(), nil)
        // Checkpoints: cell 1 after chunks 1, 2, then the cell (3); cell 2: 4, 5, 6; unbounded: 7, 8, 9.
        let interrupter = Interrupter(stopAt: stopAt)
        #expect(throws: AttackError.io("interrupted")) { try run(StrongProgress(), interrupter.checkpoint) }
        let saved = try #require(interrupter.saved)
        #expect(saved.partial?.chunks.count == 1)
        #expect(saved.cells.count == [1: 0, 4: 1, 7: 2][stopAt])
        // The checkpoint goes through strong.json's encoding, as a real interruption's would.
        let reloaded = try JSONDecoder().decode(StrongProgress.self, from: try JSONEncoder().encode(saved))
        #expect(reloaded == saved)
        let resumed = try run(reloaded, nil)
        #expect(Self.timeless(resumed.cells) == Self.timeless(whole.cells))
        #expect(resumed.sanity == whole.sanity)
        #expect(whole.cells.count == 2 && whole.sanity.unboundedAccuracy["vae|adaptive-eot"] != nil)
        // Not a trivial cell: the attacks break some of the clean-correct images, not all.
        #expect(whole.cells.contains { 0 < $0.robust && $0.robust < $0.cleanCorrect })
    }

    /// Saved chunks are taken as they are, not recomputed, and the cell is their per-image
    /// worst case: in each chunk every attack alone keeps two of three images, never the same
    /// two (one clean error in chunk 1), so no image survives them all.
    @Test func runStrong_assemblesACellFromSavedChunks_withThePerImageWorstCase() throws {
        let (evaluator, dir) = try Self.evaluator(count: 6, defenses: "none", threats: [.oblivious])
        defer { try? FileManager.default.removeItem(at: dir) }
        var suite = Self.chunkedSuite()
        suite.cascade = false
        let chunk = { (start: Int, clean: [Bool]) in
            StrongChunk(start: start, clean: Outcomes(clean),
                        correctAfter: ["apgd-ce": Outcomes([true, true, false]), "apgd-dlr": Outcomes([false, true, true]),
                                       "square": Outcomes([true, false, true])], seconds: 1)
        }
        let partial = StrongPartial(defense: "none", threat: "oblivious", epsilon: Double(Float(0.4)), images: 6, chunkImages: 3,
                                    chunks: [chunk(0, [true, true, true]), chunk(3, [true, false, true])])
        let (cells, _) = try evaluator.runStrong(suite, epsilons: [0.4], sanity: false, chunkImages: 3,
                                                 previous: StrongProgress(partial: partial), log: { _ in })
        let cell = try #require(cells.first)
        #expect(cell.images == 6 && cell.cleanCorrect == 5)
        #expect(cell.correctAfter == ["apgd-ce": 4, "apgd-dlr": 4, "square": 4])
        #expect(cell.robust == 0)
        #expect(cell.seconds == 2)   // the saved chunks' seconds: nothing was run again
    }

    /// A partial cell from other settings (another chunk size) is recomputed, not mixed in.
    @Test func strongPartial_matchesOnlyTheSameWork() {
        let a = StrongPartial(defense: "none", threat: "oblivious", epsilon: 0.3, images: 10, chunkImages: 4)
        var b = a
        b.chunkImages = 5
        #expect(a.isSameWork(as: a) && !a.isSameWork(as: b))
        var c = a
        c.epsilon = nil
        #expect(!a.isSameWork(as: c))
        // A chunk not where this chunking puts it ends the valid prefix.
        var d = a
        d.chunks = [StrongChunk(start: 0, clean: Outcomes(Array(repeating: true, count: 4)), correctAfter: [:], seconds: 0),
                    StrongChunk(start: 5, clean: Outcomes(Array(repeating: true, count: 4)), correctAfter: [:], seconds: 0)]
        #expect(d.validChunks.count == 1)
    }

    @Test func outcomes_encodeAsOnesAndZeros() throws {
        let data = try JSONEncoder().encode(Outcomes([true, false, true]))
        #expect(String(decoding: data, as: UTF8.self) == "\"101\"")
        #expect(try JSONDecoder().decode(Outcomes.self, from: data) == Outcomes([true, false, true]))
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Outcomes.self, from: Data("\"1x\"".utf8)) }
    }
}

final class LockedCount: Sendable {
    private let count = Mutex(0)
    func increment() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
