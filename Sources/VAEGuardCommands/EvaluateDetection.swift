import ArgumentParser
import Foundation
import Datasets
import Attacks
import Evaluation
import Purification
import Service

/// `vaeguard evaluate --detection`: measures the reconstruction-error detector and calibrates
/// its threshold (see docs/DETECTION.md).
enum EvaluateDetection {
    struct Request {
        var kind: DatasetKind
        var model: EvaluationModels
        var datasetsRoot: URL
        var attacks: [AttackKind]
        var epsilons: [AttackKind: [Float]]
        /// The purifiers to score with; only whole-image / patch VAE ones make sense here.
        var defenses: [DefenseSpec]
        var images: Int
        var calibrationImages: Int
        var seed: UInt64
        var settings: AttackSettings
        var threshold: Float?
        var configPath: String
        var output: URL
        var batchSize: Int
        var workers: Int
    }

    /// The flag thresholds deployed for the model named like the dataset, per purifier (the patch
    /// VAE's scores live on another scale): `--detection-threshold` for every purifier, else the
    /// configuration file's entry (if present), else the built-in default's.
    static func configuredThresholds(dataset: String, explicit: Float?, configPath: String)
        -> (threshold: Float, purifierThresholds: [PurifierKind: Float], source: String) {
        if let explicit { return (explicit, [:], "--detection-threshold, every purifier") }
        if FileManager.default.fileExists(atPath: configPath), let cfg = try? ServiceConfiguration.load(path: configPath),
           let e = cfg.models.entries.first(where: { $0.name == dataset }) {
            return (e.threshold, e.spec?.purifierThresholds ?? [:], configPath)
        }
        let e = ServiceConfiguration().models.entries.first { $0.name == dataset }
        return (e?.threshold ?? .infinity, e?.spec?.purifierThresholds ?? [:], "built-in default")
    }

    /// The evaluation's model flagging as deployed (`configuredThresholds`), and where that came from.
    static func deployed(_ model: EvaluationModels, dataset: String, explicit: Float?, configPath: String) -> (DefendedModel, String) {
        let t = configuredThresholds(dataset: dataset, explicit: explicit, configPath: configPath)
        return (model.defended.withThresholds(t.threshold, purifierThresholds: t.purifierThresholds), t.source)
    }

    static func run(_ r: Request) throws {
        let train = try r.kind.load(root: r.datasetsRoot, split: .train)
        let test = try r.kind.load(root: r.datasetsRoot, split: .test)
        let n = min(r.images, test.count), m = min(r.calibrationImages, train.count)
        let calibration = train.batch(Array(0..<m)).images
        let testImages = test.batch(Array(0..<n)).images
        let (model, source) = deployed(r.model, dataset: r.kind.rawValue, explicit: r.threshold, configPath: r.configPath)
        print("detection: calibrating on the first \(m) TRAINING images (clean); false alarms and detection on the first \(n) TEST images")
        print("configured thresholds (\(source)): " + r.defenses.map {
            String(format: "%@ %.5g", $0.name, model.threshold(for: $0.options.purifier))
        }.joined(separator: ", "))
        var evaluator = DetectionEvaluator(model: model, dataset: r.kind.rawValue, calibration: calibration, test: testImages,
                                           attacks: r.attacks, epsilons: r.epsilons, defenses: r.defenses, settings: r.settings,
                                           seed: r.seed, batchSize: r.batchSize, workers: r.workers)
        evaluator.log = { print($0) }
        let start = Date()
        let (report, scores) = try evaluator.run()
        try report.write(to: r.output, scores: scores)
        print("")
        for c in report.calibrations {
            print(String(format: "%@: threshold for 1%% false alarms %.5f, for 5%% %.5f (configured %.5g)", c.defense, c.threshold1,
                         c.threshold5, c.configuredThreshold))
        }
        print("")
        print(report.markdownTable)
        print(report.note)
        print(String(format: "detection done in %.0f s; results: %@/detection.csv, detection.json, detection-scores.csv",
                     Date().timeIntervalSince(start), r.output.path))
    }
}
