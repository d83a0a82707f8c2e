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
        let history = resume ? try checkpoint.restore(network: network, optimizer: optimizer) : []
        return TrainingRun(architecture: architecture, network: network, optimizer: optimizer, checkpoint: checkpoint,
                           history: history)
    }

    /// Runs the epochs not yet in `run.history`: the scheduled learning rate, `epoch(e)`'s steps
    /// under a progress bar (`lossFormat` for the running loss), then `evaluate()` for the test
    /// metric and its log text; then the record, a log line and a checkpoint. Finally writes the
    /// model files with `metricName` = the last test metric.
    func runEpochs(_ run: inout TrainingRun, lossFormat: String, metricName: String,
                   epoch: (Int) throws -> TrainingRun.Epoch,
                   evaluate: () -> (metric: Double, text: String)) throws -> (url: URL, history: [EpochRecord]) {
        let name = run.architecture.name
        for e in run.history.count..<options.epochs {
            run.optimizer.learningRate = options.schedule.rate(epoch: e)
            let plan = try epoch(e)
            let bar = ProgressBar(total: plan.steps, label: "\(name) epoch \(e + 1)/\(options.epochs)")
            let start = Date()
            var lossSum = 0.0, seen = 0
            for s in 0..<plan.steps {
                let (loss, items) = try plan.step(s)
                lossSum += loss * Double(items)
                seen += items
                bar.update(step: s + 1, items: seen, extra: "loss " + String(format: lossFormat, lossSum / Double(seen)))
            }
            bar.finish()
            let seconds = Date().timeIntervalSince(start)
            let (metric, text) = evaluate()
            let record = EpochRecord(epoch: e + 1, trainLoss: lossSum / Double(max(1, seen)), testMetric: metric,
                                     seconds: seconds, imagesPerSecond: Double(seen) / seconds)
            run.history.append(record)
            log("\(name) epoch \(e + 1): train loss " + String(format: lossFormat, record.trainLoss) + ", \(text), "
                + String(format: "%.0f s (%.0f img/s), lr %g", seconds, record.imagesPerSecond, run.optimizer.learningRate))
            try run.checkpoint.save(network: run.network, architecture: run.architecture, optimizer: run.optimizer,
                                    history: run.history)
        }
        let url = try finish(network: run.network, architecture: run.architecture, history: run.history,
                             finalMetric: (metricName, run.history.last.map { String(format: "%.4f", $0.testMetric) } ?? ""))
        return (url, run.history)
    }
}
