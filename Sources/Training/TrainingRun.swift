import Foundation
import Engine
import NeuralNet

/// What every training run shares: the network (from `--initial-weights` when given), its
/// optimiser, the per-epoch checkpoint, the curve restored on `--resume`, and the epoch loop
/// around the steps. The trainers (`trainClassifier`, `trainVAE`, `trainGuidedVAE`) supply only
/// what differs: the step and the test metric.
struct TrainingRun {
    let architecture: ModelArchitecture
    let network: Network
    let optimizer: any Optimizer
    let checkpoint: Checkpoint
    var history: [EpochRecord]

    /// One epoch as the loop sees it: how many steps, and step `i` → (mean loss, items).
    struct Epoch {
        var steps: Int
        var step: (Int) throws -> (loss: Double, items: Int)
    }
}

extension Trainer {
    func startRun(_ architecture: ModelArchitecture, resume: Bool) throws -> TrainingRun {
        let network = try Network(architecture: architecture, seed: options.seed)
        if let initial = options.initialWeights {
            try network.load(Dictionary(uniqueKeysWithValues: try ModelFile.load(URL(fileURLWithPath: initial)).network
                .namedTensors.map { ($0.name, $0.value) }))
        }
        let optimizer = options.makeOptimizer()
        let checkpoint = Checkpoint(directory: URL(fileURLWithPath: options.checkpointDirectory)
            .appendingPathComponent(architecture.name))
        var history = resume ? try checkpoint.restore(network: network, optimizer: optimizer) : []
        if history.isEmpty, let prior = options.priorCurve {
            history = try CurveFile.read(URL(fileURLWithPath: prior))
        }
        return TrainingRun(architecture: architecture, network: network, optimizer: optimizer, checkpoint: checkpoint,
                           history: history)
    }

    /// Runs the epochs not yet in `run.history`: the scheduled learning rate (set every step),
    /// `epoch(e)`'s steps under a progress bar (`lossFormat` for the running loss), then
    /// `evaluate()` for the test metric and its log text, `robustness()` when given (the
    /// held-out robust accuracy of adversarial training) and `purified(epoch)` when given (a
    /// monitor classifier's accuracy after purification; nil on epochs it skips); then the record, a log line and a
    /// checkpoint. With `robustness`, the best epoch is also kept in `<checkpoint>-best`, and a
    /// collapse (see `RobustEarlyStopping`) ends the run with the best epoch's weights.
    /// Finally writes the model files with `metricName` = the test metric of the last (with
    /// `robustness`: the best) epoch.
    func runEpochs(_ run: inout TrainingRun, lossFormat: String, metricName: String,
                   epoch: (Int) throws -> TrainingRun.Epoch,
                   evaluate: () -> (metric: Double, text: String),
                   robustness: (() -> (accuracy: Double, text: String))? = nil,
                   purified: ((Int) -> (accuracy: Double, text: String)?)? = nil) throws -> (url: URL, history: [EpochRecord]) {
        let name = run.architecture.name
        let stopping = RobustEarlyStopping(maxDrop: options.collapseDrop)
        let best = Checkpoint(directory: run.checkpoint.directory.appendingPathExtension("best"))
        var e = run.history.count
        while e < options.epochs && !(robustness != nil && stopping.hasCollapsed(run.history)) {
            let plan = try epoch(e)
            let bar = ProgressBar(total: plan.steps, label: "\(name) epoch \(e + 1)/\(options.epochs)")
            let start = Date()
            var lossSum = 0.0, seen = 0
            for s in 0..<plan.steps {
                run.optimizer.learningRate = options.learningRate(at: Double(e) + Double(s) / Double(max(1, plan.steps)))
                let (loss, items) = try plan.step(s)
                lossSum += loss * Double(items)
                seen += items
                bar.update(step: s + 1, items: seen, extra: "loss " + String(format: lossFormat, lossSum / Double(seen)))
            }
            bar.finish()
            let seconds = Date().timeIntervalSince(start)
            var (metric, text) = evaluate()
            let robust = robustness?()
            if let robust { text += ", " + robust.text }
            let monitored = purified?(e + 1)
            if let monitored { text += ", " + monitored.text }
            let record = EpochRecord(epoch: e + 1, trainLoss: lossSum / Double(max(1, seen)), testMetric: metric,
                                     seconds: seconds, imagesPerSecond: Double(seen) / seconds, robustAccuracy: robust?.accuracy,
                                     purifiedAccuracy: monitored?.accuracy)
            run.history.append(record)
            log("\(name) epoch \(e + 1): train loss " + String(format: lossFormat, record.trainLoss) + ", \(text), "
                + String(format: "%.0f s (%.0f img/s), lr %g", seconds, record.imagesPerSecond, run.optimizer.learningRate))
            try run.checkpoint.save(network: run.network, architecture: run.architecture, optimizer: run.optimizer,
                                    history: run.history)
            if robust != nil, stopping.bestEpoch(run.history) == run.history.count - 1 {
                try best.save(network: run.network, architecture: run.architecture, optimizer: run.optimizer, history: run.history)
            }
            e += 1
        }
        var finalRecord = run.history.last
        if robustness != nil, let b = stopping.bestEpoch(run.history) {
            finalRecord = run.history[b]
            if b != run.history.count - 1 {
                if stopping.hasCollapsed(run.history) {
                    log(String(format: "\(name): held-out robust accuracy collapsed (%.2f%% → %.2f%%); stopping, keeping epoch %d",
                               (finalRecord?.robustAccuracy ?? 0) * 100, (run.history.last?.robustAccuracy ?? 0) * 100, b + 1))
                } else {
                    log("\(name): keeping epoch \(b + 1), the best held-out robust accuracy")
                }
                _ = try best.restore(network: run.network, optimizer: run.optimizer)
            }
        }
        var metrics = [(metricName, finalRecord.map { String(format: "%.4f", $0.testMetric) } ?? "")]
        if let r = finalRecord?.robustAccuracy {
            metrics += [("test_robust_accuracy", String(format: "%.4f", r)), ("best_epoch", String(finalRecord!.epoch))]
        }
        let url = try finish(network: run.network, architecture: run.architecture, history: run.history, metrics: metrics)
        return (url, run.history)
    }
}

/// Guards fast adversarial training against catastrophic overfitting (Wong et al. 2020):
/// the best epoch is the one with the highest held-out robust accuracy, and the run has
/// collapsed when the latest epoch is more than `maxDrop` below it.
struct RobustEarlyStopping {
    let maxDrop: Double

    /// Index of the record with the highest robust accuracy (the earliest on ties).
    func bestEpoch(_ history: [EpochRecord]) -> Int? {
        var best: (Int, Double)?
        for (i, r) in history.enumerated() {
            guard let a = r.robustAccuracy else { continue }
            if best == nil || a > best!.1 { best = (i, a) }
        }
        return best?.0
    }

    func hasCollapsed(_ history: [EpochRecord]) -> Bool {
        guard let b = bestEpoch(history), let last = history.last?.robustAccuracy else { return false }
        return history[b].robustAccuracy! - last > maxDrop
    }
}
