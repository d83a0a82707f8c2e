import Foundation
import Engine
import NeuralNet
import Purification
import Attacks

/// Percentiles, thresholds, detection rates and ROC AUC of reconstruction-error scores: the
/// arithmetic of `vaeguard evaluate --detection`. An image is flagged when its score is
/// strictly above the threshold, as in `DefendedModel.classify`.
public enum DetectionStatistics {
    /// The `p`-th percentile (0…100) with linear interpolation between closest ranks (numpy's
    /// default): rank `p/100·(n−1)` of the sorted scores. NaN for no scores.
    public static func percentile(_ scores: [Float], _ p: Double) -> Float {
        percentile(sorted: scores.sorted(), p)
    }

    public static func percentile(sorted s: [Float], _ p: Double) -> Float {
        guard !s.isEmpty else { return .nan }
        let rank = min(max(p, 0), 100) / 100 * Double(s.count - 1)
        let lo = Int(rank.rounded(.down)), hi = min(lo + 1, s.count - 1)
        let f = rank - Double(lo)
        return Float(Double(s[lo]) * (1 - f) + Double(s[hi]) * f)
    }

    /// The threshold for a false-alarm rate of `rate` (0…1) on the calibration scores `clean`:
    /// their `100·(1−rate)` percentile, so at most about `rate` of them lie strictly above it.
    public static func threshold(clean: [Float], falseAlarmRate rate: Double) -> Float {
        percentile(clean, 100 * (1 - rate))
    }

    /// The fraction of `scores` strictly above `threshold` (flagged). 0 for no scores.
    public static func flaggedRate(_ scores: [Float], threshold: Float) -> Double {
        guard !scores.isEmpty else { return 0 }
        return Double(scores.count(where: { $0 > threshold })) / Double(scores.count)
    }

    /// ROC AUC of separating `positives` (attacked) from `negatives` (clean) by score: the
    /// probability that a random positive scores above a random negative, ties counting ½
    /// (Mann–Whitney U / (n·m)), computed from midranks in O((n+m) log(n+m)).
    public static func rocAUC(negatives: [Float], positives: [Float]) -> Double {
        let n = negatives.count, m = positives.count
        guard n > 0, m > 0 else { return .nan }
        let all = (negatives.map { ($0, false) } + positives.map { ($0, true) }).sorted { $0.0 < $1.0 }
        var rankSum = 0.0
        var i = 0
        while i < all.count {
            var j = i
            while j + 1 < all.count && all[j + 1].0 == all[i].0 { j += 1 }
            let midrank = Double(i + j) / 2 + 1
            for k in i...j where all[k].1 { rankSum += midrank }
            i = j + 1
        }
        let u = rankSum - Double(m) * Double(m + 1) / 2
        return u / (Double(n) * Double(m))
    }
}

/// One row of `detection.csv`: a set of scored images (clean calibration images, clean test
/// images, or the adversarial versions of the test images at one attack and ε) under one purifier.
public struct DetectionRow: Sendable, Codable, Equatable {
    public var dataset: String
    public var defense: String
    /// `clean-train` (calibration), `clean-test`, or an attack name.
    public var set: String
    public var epsilon: Double?
    public var images: Int
    /// Fraction of the adversarial images the bare classifier gets wrong (vs its clean predictions).
    public var attackSuccess: Double?
    public var meanScore: Double
    public var p50: Double, p90: Double, p95: Double, p99: Double, p999: Double
    /// Flagged fractions at the 1 % and 5 % false-alarm thresholds (calibrated on training
    /// images) and at the configured threshold: false alarms for clean sets, detection otherwise.
    public var flaggedAt1: Double, flaggedAt5: Double, flaggedAtConfigured: Double
    /// Detection at the 1 % threshold among the adversarial images that fool the bare classifier.
    public var flaggedAt1Successful: Double?
    /// ROC AUC against the clean test scores (attacked sets only).
    public var auc: Double?

    static let csvHeader = "dataset,defense,set,epsilon,images,attack_success,mean_score,p50,p90,p95,p99,p99.9,"
        + "flagged_at_fa1,flagged_at_fa5,flagged_at_configured,flagged_at_fa1_successful,auc"

    var csvLine: String {
        func f(_ v: Double?) -> String { v.map { String(format: "%.6g", $0) } ?? "" }
        return [dataset, defense, set, f(epsilon), "\(images)", f(attackSuccess), f(meanScore), f(p50), f(p90), f(p95), f(p99),
                f(p999), f(flaggedAt1), f(flaggedAt5), f(flaggedAtConfigured), f(flaggedAt1Successful), f(auc)]
            .joined(separator: ",")
    }
}

/// The calibration of one purifier: thresholds from the clean training scores.
public struct DetectionCalibration: Sendable, Codable, Equatable {
    public var defense: String
    public var calibrationImages: Int
    public var threshold1: Double
    public var threshold5: Double
    public var configuredThreshold: Double
}

/// What `vaeguard evaluate --detection` writes to `detection.json`.
public struct DetectionReport: Sendable, Codable {
    public var dataset: String
    public var note: String
    public var calibrationImages: Int
    public var testImages: Int
    public var seed: UInt64
    public var settings: AttackSettings
    public var calibrations: [DetectionCalibration]
    public var rows: [DetectionRow]

    /// Writes `detection.json`, `detection.csv` and `detection-scores.csv` (every score) to `directory`.
    public func write(to directory: URL, scores: [(defense: String, set: String, epsilon: Double?, scores: [Float])]) throws(AttackError) {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(self).write(to: directory.appendingPathComponent("detection.json"))
            let csv = ([DetectionRow.csvHeader] + rows.map(\.csvLine)).joined(separator: "\n") + "\n"
            try csv.write(to: directory.appendingPathComponent("detection.csv"), atomically: true, encoding: .utf8)
            var lines = ["defense,set,epsilon,index,score"]
            for s in scores {
                let e = s.epsilon.map { String(format: "%g", $0) } ?? ""
                for (i, v) in s.scores.enumerated() { lines.append("\(s.defense),\(s.set),\(e),\(i),\(String(format: "%.6g", v))") }
            }
            try (lines.joined(separator: "\n") + "\n").write(to: directory.appendingPathComponent("detection-scores.csv"),
                                                             atomically: true, encoding: .utf8)
        } catch {
            throw .io("cannot write detection results to \(directory.path): \(error)")
        }
    }

    /// Markdown tables: clean-score percentiles and thresholds, then every row (percentages).
    public var markdownTable: String {
        func pct(_ v: Double?) -> String { v.map { String(format: "%.1f", 100 * $0) } ?? "–" }
        func sc(_ v: Double) -> String { String(format: "%.4f", v) }
        var out = "| defense | clean set | images | p50 | p90 | p95 | p99 | p99.9 | thr 1% FA | thr 5% FA | FA @1% thr (%) "
            + "| FA @5% thr (%) | FA @configured (%) |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
        for r in rows where r.set.hasPrefix("clean") {
            let c = calibrations.first { $0.defense == r.defense }
            out += "| \(r.defense) | \(r.set) | \(r.images) | \(sc(r.p50)) | \(sc(r.p90)) | \(sc(r.p95)) | \(sc(r.p99)) | \(sc(r.p999)) "
                + "| \(c.map { sc($0.threshold1) } ?? "–") | \(c.map { sc($0.threshold5) } ?? "–") | \(pct(r.flaggedAt1)) "
                + "| \(pct(r.flaggedAt5)) | \(pct(r.flaggedAtConfigured)) |\n"
        }
        out += "\n| defense | set | ε | fooled (%) | mean score | p50 | p99 | flagged @1%-FA thr (%) | @5%-FA thr (%) "
            + "| @configured (%) | @1% among fooled (%) | AUC |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n"
        for r in rows {
            let eps = r.epsilon.map { String(format: "%g", $0) } ?? "–"
            out += "| \(r.defense) | \(r.set) | \(eps) | \(pct(r.attackSuccess)) | \(sc(r.meanScore)) | \(sc(r.p50)) | \(sc(r.p99)) "
                + "| \(pct(r.flaggedAt1)) | \(pct(r.flaggedAt5)) | \(pct(r.flaggedAtConfigured)) | \(pct(r.flaggedAt1Successful)) "
                + "| \(r.auc.map { String(format: "%.3f", $0) } ?? "–") |\n"
        }
        return out
    }
}

/// Measures the reconstruction-error detector: scores clean calibration images (from the
/// training set), clean test images and oblivious adversarial versions of the test images
/// (attacks on the bare classifier, labels = its clean predictions), for each purifier.
/// Thresholds come from the calibration images only; false alarms and detection are measured
/// on the test images, so the threshold is not fitted to the images it is judged on.
public struct DetectionEvaluator: Sendable {
    /// The defended model; its `threshold(for:)` is the deployed flag, the "configured" column.
    public let model: DefendedModel
    public let dataset: String
    public let calibration: Tensor
    public let test: Tensor
    public let attacks: [AttackKind]
    public let epsilons: [AttackKind: [Float]]
    public let defenses: [DefenseSpec]
    public let settings: AttackSettings
    public let seed: UInt64
    public var batchSize: Int
    public var workers: Int
    /// Called with a line of progress text.
    public var log: (@Sendable (String) -> Void)?

    public init(model: DefendedModel, dataset: String, calibration: Tensor, test: Tensor, attacks: [AttackKind],
                epsilons: [AttackKind: [Float]], defenses: [DefenseSpec], settings: AttackSettings, seed: UInt64,
                batchSize: Int = 100, workers: Int = 1) {
        self.model = model
        self.dataset = dataset
        self.calibration = calibration
        self.test = test
        self.attacks = attacks
        self.epsilons = epsilons
        self.defenses = defenses
        self.settings = settings
        self.seed = seed
        self.batchSize = max(1, batchSize)
        self.workers = max(1, workers)
    }

    public typealias ScoreSet = (defense: String, set: String, epsilon: Double?, scores: [Float])

    /// Runs everything; returns the report and every score.
    public func run() throws(AttackError) -> (report: DetectionReport, scores: [ScoreSet]) {
        let labels = predictions(test)
        // Adversarial test images, shared by all purifiers.
        var adversarial: [(AttackKind, Float, Tensor, Double)] = []
        let target = ClassifierTarget(classifier: model.classifier)
        for attack in attacks {
            for eps in epsilons[attack] ?? [] {
                let start = Date()
                let adv = generate(attack, eps, labels: labels, target: target)
                let fooled = zip(predictions(adv), labels).filter { $0 != $1 }.count
                adversarial.append((attack, eps, adv, Double(fooled) / Double(max(1, labels.count))))
                log?(String(format: "%@ ε=%g: fools the bare classifier on %.1f%% (%.0f s)", attack.rawValue, eps,
                            100 * adversarial.last!.3, Date().timeIntervalSince(start)))
            }
        }
        var rows: [DetectionRow] = []
        var calibrations: [DetectionCalibration] = []
        var allScores: [ScoreSet] = []
        for d in defenses {
            let start = Date()
            let train = try scores(calibration, defense: d, salt: "calibration")
            let clean = try scores(test, defense: d, salt: "clean")
            let t1 = DetectionStatistics.threshold(clean: train, falseAlarmRate: 0.01)
            let t5 = DetectionStatistics.threshold(clean: train, falseAlarmRate: 0.05)
            let configuredThreshold = model.threshold(for: d.options.purifier)
            calibrations.append(DetectionCalibration(defense: d.name, calibrationImages: train.count, threshold1: Double(t1),
                                                     threshold5: Double(t5), configuredThreshold: Double(configuredThreshold)))
            func row(_ set: String, _ eps: Float?, _ s: [Float], success: Double?, fooled: [Bool]?) -> DetectionRow {
                let sorted = s.sorted()
                func p(_ q: Double) -> Double { Double(DetectionStatistics.percentile(sorted: sorted, q)) }
                var r = DetectionRow(dataset: dataset, defense: d.name, set: set, epsilon: eps.map(Double.init), images: s.count,
                                     attackSuccess: success, meanScore: s.reduce(0.0) { $0 + Double($1) } / Double(max(1, s.count)),
                                     p50: p(50), p90: p(90), p95: p(95), p99: p(99), p999: p(99.9),
                                     flaggedAt1: DetectionStatistics.flaggedRate(s, threshold: t1),
                                     flaggedAt5: DetectionStatistics.flaggedRate(s, threshold: t5),
                                     flaggedAtConfigured: DetectionStatistics.flaggedRate(s, threshold: configuredThreshold),
                                     flaggedAt1Successful: nil, auc: nil)
                if let fooled {
                    let sub = zip(s, fooled).filter(\.1).map(\.0)
                    r.flaggedAt1Successful = sub.isEmpty ? nil : DetectionStatistics.flaggedRate(sub, threshold: t1)
                    r.auc = DetectionStatistics.rocAUC(negatives: clean, positives: s)
                }
                return r
            }
            rows.append(row("clean-train", nil, train, success: nil, fooled: nil))
            rows.append(row("clean-test", nil, clean, success: nil, fooled: nil))
            allScores += [(d.name, "clean-train", nil, train), (d.name, "clean-test", nil, clean)]
            for (attack, eps, adv, success) in adversarial {
                let s = try scores(adv, defense: d, salt: "\(attack.rawValue)|\(eps)")
                let fooled = zip(predictions(adv), labels).map { $0 != $1 }
                rows.append(row(attack.rawValue, eps, s, success: success, fooled: fooled))
                allScores.append((d.name, attack.rawValue, Double(eps), s))
            }
            log?(String(format: "%@: thresholds %.5f (1%% FA), %.5f (5%% FA) (%.0f s)", d.name, t1, t5, Date().timeIntervalSince(start)))
        }
        let note = "Thresholds are calibrated on the first \(calibration.batchSize) TRAINING images (clean); false alarms "
            + "and detection are measured on the first \(test.batchSize) TEST images. Attacks are oblivious (on the bare "
            + "classifier, labels = its clean predictions); an adaptive attacker can also minimise the score."
        let report = DetectionReport(dataset: dataset, note: note, calibrationImages: calibration.batchSize, testImages: test.batchSize,
                                     seed: seed, settings: settings, calibrations: calibrations, rows: rows)
        return (report, allScores)
    }

    /// Reconstruction-error scores of `x` under `defense`, batched over the workers; the noise
    /// depends on (seed, salt, defense, batch) only.
    public func scores(_ x: Tensor, defense: DefenseSpec, salt: String) throws(AttackError) -> [Float] {
        let n = x.batchSize, bs = batchSize
        let batches = (n + bs - 1) / bs
        let options = defense.options
        var out = [Float](repeating: 0, count: n)
        var failures = [String?](repeating: nil, count: batches)
        out.withUnsafeMutableBufferPointer { buffer in
            failures.withUnsafeMutableBufferPointer { failureBuffer in
                Parallel.forEachChunk(count: batches, maxChunks: workers) { range in
                    for bi in range {
                        let lo = bi * bs, hi = min(n, lo + bs)
                        var rng = RandomSource(seed: SeedMixer.seed("detection", "\(seed)", salt, defense.name, "\(bi)"))
                        do {
                            let s = try model.purify(x.batch(lo..<hi), options: options, rng: &rng).scores
                            for j in 0..<s.count { buffer[lo + j] = s[j] }
                        } catch {
                            failureBuffer[bi] = "\(error)"
                        }
                    }
                }
            }
        }
        if let failure = failures.compactMap({ $0 }).first { throw .unavailable("defense \(defense.name): \(failure)") }
        return out
    }

    func generate(_ attack: AttackKind, _ eps: Float, labels: [Int], target: any AttackTarget) -> Tensor {
        let n = test.batchSize, size = test.itemCount, bs = batchSize
        let batches = (n + bs - 1) / bs
        let settings = settings, test = test, seed = seed
        var out = [Float](repeating: 0, count: test.count)
        out.withUnsafeMutableBufferPointer { buffer in
            Parallel.forEachChunk(count: batches, maxChunks: workers) { range in
                for bi in range {
                    let lo = bi * bs, hi = min(n, lo + bs)
                    var rng = RandomSource(seed: SeedMixer.seed("detection", "\(seed)", attack.rawValue, "\(eps)", "\(bi)"))
                    let adv = settings.run(attack, epsilon: eps, x: test.batch(lo..<hi), labels: Array(labels[lo..<hi]),
                                           target: target, rng: &rng)
                    for i in 0..<adv.count { buffer[lo * size + i] = adv.storage[i] }
                }
            }
        }
        return Tensor(shape: test.shape, storage: out)
    }

    func predictions(_ x: Tensor) -> [Int] {
        BatchedPredictions.top1(model.classifier, x, batchSize: batchSize, workers: workers)
    }
}
