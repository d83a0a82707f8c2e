import Foundation
import Testing
import Engine
import NeuralNet
import Purification
import Attacks
import AttackTestSupport
@testable import Evaluation
import TestSupport

@Suite("Reconstruction-error detector: statistics and evaluation", .computeBound)
struct DetectionTests {
    typealias S = DetectionStatistics

    @Test func percentiles_interpolateLikeNumpy() {
        let s: [Float] = [5, 1, 4, 2, 3]
        #expect(S.percentile(s, 0) == 1 && S.percentile(s, 100) == 5)
        #expect(S.percentile(s, 50) == 3)
        #expect(abs(S.percentile(s, 90) - 4.6) < 1e-5)          // np.percentile([1..5], 90)
        #expect(abs(S.percentile(s, 99.9) - 4.996) < 1e-5)
        #expect(S.percentile([7], 99) == 7)
        #expect(S.percentile([], 50).isNaN)
    }

    @Test func thresholds_giveTheAskedFalseAlarmRate() {
        let clean = (1...100).map(Float.init).shuffled()
        let t1 = S.threshold(clean: clean, falseAlarmRate: 0.01), t5 = S.threshold(clean: clean, falseAlarmRate: 0.05)
        #expect(abs(t1 - 99.01) < 1e-4 && abs(t5 - 95.05) < 1e-4)
        #expect(S.flaggedRate(clean, threshold: t1) == 0.01)
        #expect(S.flaggedRate(clean, threshold: t5) == 0.05)
        // Strictly above: a score equal to the threshold is not flagged.
        #expect(S.flaggedRate([1, 2, 3], threshold: 2) == 1.0 / 3)
        #expect(S.flaggedRate([], threshold: 0) == 0)
    }

    @Test func auc_matchesPairCounting() {
        #expect(S.rocAUC(negatives: [1, 2, 3], positives: [4, 5]) == 1)
        #expect(S.rocAUC(negatives: [4, 5], positives: [1, 2, 3]) == 0)
        #expect(S.rocAUC(negatives: [2, 2], positives: [2, 2, 2]) == 0.5)
        #expect(S.rocAUC(negatives: [1, 3], positives: [2, 4]) == 0.75)
        #expect(S.rocAUC(negatives: [1, 2], positives: [2, 3]) == 0.875)   // a tie counts ½
        #expect(S.rocAUC(negatives: [], positives: [1]).isNaN)
        var rng = RandomSource(seed: 9)
        let neg = (0..<57).map { _ in Float(Int(rng.nextUniform() * 20)) }
        let pos = (0..<43).map { _ in Float(Int(rng.nextUniform() * 20 + 4)) }
        var pairs = 0.0
        for p in pos { for n in neg { pairs += p > n ? 1 : (p == n ? 0.5 : 0) } }
        #expect(abs(S.rocAUC(negatives: neg, positives: pos) - pairs / Double(neg.count * pos.count)) < 1e-12)
    }

    @Test func evaluation_runsEndToEnd_andWritesResults() throws {
        let calibration = TinyModels.dataset(count: 12, seed: 21).images
        let test = TinyModels.dataset(count: 9, seed: 22).images
        // Deployed as the service does: one threshold, and the whole-image VAE's own.
        let model = TinyModels.defended(classifier: try TinyModels.templateClassifier(), vae: try TinyModels.smoothVAE())
            .withThresholds(0.5, purifierThresholds: [.vae: 0.05])
        var settings = AttackSettings()
        settings.pgdSteps = 5
        func evaluator(workers: Int) throws -> DetectionEvaluator {
            DetectionEvaluator(model: model, dataset: "tiny", calibration: calibration, test: test, attacks: [.fgsm, .pgd],
                               epsilons: [.fgsm: [0.3], .pgd: [0.05, 0.3]], defenses: try DefenseSpec.parseList("vae,vae:mean"),
                               settings: settings, seed: 1, batchSize: 4, workers: workers)
        }
        let (report, scores) = try evaluator(workers: 2).run()
        // 2 purifiers × (clean-train, clean-test, fgsm 0.3, pgd 0.05, pgd 0.3).
        #expect(report.rows.count == 10 && scores.count == 10)
        #expect(report.calibrations.map(\.defense) == ["vae", "vae:mean"])
        #expect(report.note.contains("TRAINING"))
        for c in report.calibrations { #expect(c.threshold5 <= c.threshold1 && c.configuredThreshold == Double(Float(0.05))) }
        for r in report.rows {
            #expect(r.p50 <= r.p90 && r.p90 <= r.p95 && r.p95 <= r.p99 && r.p99 <= r.p999)
            #expect(r.flaggedAt1 <= r.flaggedAt5)
            if r.set.hasPrefix("clean") { #expect(r.auc == nil && r.attackSuccess == nil) } else { #expect(r.auc != nil) }
        }
        // On its own calibration set the 1 % threshold flags at most one of 12 images.
        #expect(report.rows.filter { $0.set == "clean-train" }.allSatisfy { $0.flaggedAt1 <= 1.0 / 12 })
        // The strong attack fools the template classifier.
        #expect(report.rows.first { $0.set == "fgsm" }!.attackSuccess! > 0.5)
        // Scores equal the defended model's own reconstruction errors (vae:mean is deterministic).
        var rng = RandomSource(seed: 0)
        let direct = try model.purify(test, options: try DefenseSpec(parsing: "vae:mean").options, rng: &rng).scores
        let mine = scores.first { $0.defense == "vae:mean" && $0.set == "clean-test" }!.scores
        #expect(zip(direct, mine).allSatisfy { abs($0 - $1) < 1e-6 })
        // Worker count does not change the numbers.
        let (single, _) = try evaluator(workers: 1).run()
        #expect(single.rows == report.rows)

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("detection-test-\(UInt64.random(in: 0...UInt64.max))")
        defer { try? FileManager.default.removeItem(at: dir) }
        try report.write(to: dir, scores: scores)
        let csv = try String(contentsOf: dir.appendingPathComponent("detection.csv"), encoding: .utf8)
        #expect(csv.split(separator: "\n").count == 11 && csv.hasPrefix("dataset,defense,set,epsilon"))
        let all = try String(contentsOf: dir.appendingPathComponent("detection-scores.csv"), encoding: .utf8)
        #expect(all.split(separator: "\n").count == 1 + 2 * (12 + 9 + 3 * 9))
        let decoded = try JSONDecoder().decode(DetectionReport.self, from: Data(contentsOf: dir.appendingPathComponent("detection.json")))
        #expect(decoded.rows == report.rows && decoded.calibrationImages == 12 && decoded.testImages == 9)
        #expect(report.markdownTable.contains("| vae:mean | pgd | 0.3 |"))
    }
}
