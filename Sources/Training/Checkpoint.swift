import Foundation
import Engine
import NeuralNet

/// Per-epoch checkpoint: the model files, the optimiser's state and the curve so far.
struct Checkpoint {
    let directory: URL

    func save(network: Network, architecture: ModelArchitecture, optimizer: any Optimizer, history: [EpochRecord]) throws {
        let tmp = directory.appendingPathExtension("tmp")
        try? FileManager.default.removeItem(at: tmp)
        try ModelFile.save(network, architecture: architecture, to: tmp)
        try SafeTensors.encode(optimizer.exportState(network.trainableParameters))
            .write(to: tmp.appendingPathComponent("optimizer.safetensors"))
        try JSONEncoder().encode(history).write(to: tmp.appendingPathComponent("history.json"))
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.moveItem(at: tmp, to: directory)   // whole checkpoint replaced at once
    }

    /// Loads weights and optimiser state into `network`/`optimizer`; returns the curve so far
    /// (empty when there is no checkpoint, so the run starts from scratch).
    func restore(network: Network, optimizer: any Optimizer) throws -> [EpochRecord] {
        let historyURL = directory.appendingPathComponent("history.json")
        guard FileManager.default.fileExists(atPath: historyURL.path) else { return [] }
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        guard let json = files.first(where: { $0.hasSuffix(".json") && $0 != "history.json" }) else { return [] }
        let model = try ModelFile.load(directory.appendingPathComponent(json))
        let tensors = Dictionary(uniqueKeysWithValues: model.network.namedTensors.map { ($0.name, $0.value) })
        try network.load(tensors)
        let state = try SafeTensors.decode(Data(contentsOf: directory.appendingPathComponent("optimizer.safetensors"))).tensors
        optimizer.importState(state, parameters: network.trainableParameters)
        return try JSONDecoder().decode([EpochRecord].self, from: Data(contentsOf: historyURL))
    }
}

/// A training curve as CSV: epoch, train loss, test metric, seconds, images/s, then the
/// held-out robust accuracy and the monitor classifier's accuracy after purification, each
/// only when the run measured it (an empty cell on epochs that skipped it).
enum CurveFile {
    static func write(_ history: [EpochRecord], to url: URL) throws {
        let robust = history.contains { $0.robustAccuracy != nil }
        let purified = history.contains { $0.purifiedAccuracy != nil }
        var csv = "epoch,train_loss,test_metric,seconds,images_per_second" + (robust ? ",robust_accuracy" : "")
            + (purified ? ",purified_accuracy" : "") + "\n"
        for r in history {
            csv += String(format: "%d,%.6f,%.6f,%.1f,%.1f", r.epoch, r.trainLoss, r.testMetric, r.seconds, r.imagesPerSecond)
            if robust { csv += r.robustAccuracy.map { String(format: ",%.6f", $0) } ?? "," }
            if purified { csv += r.purifiedAccuracy.map { String(format: ",%.6f", $0) } ?? "," }
            csv += "\n"
        }
        try csv.write(to: url, atomically: true, encoding: .utf8)
    }

    /// Reads a curve written by `write` (`--prior-curve`); unknown columns are ignored.
    static func read(_ url: URL) throws -> [EpochRecord] {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw NeuralNetError.invalidSpec("cannot read the prior curve \(url.path): \(error.localizedDescription)")
        }
        let lines = text.split(whereSeparator: \.isNewline).map(String.init)
        let header = lines.first?.split(separator: ",").map(String.init) ?? []
        let column = Dictionary(header.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        guard ["epoch", "train_loss", "test_metric", "seconds", "images_per_second"].allSatisfy({ column[$0] != nil })
        else { throw NeuralNetError.invalidSpec("\(url.path) is not a training curve (epoch,train_loss,test_metric,... header)") }
        return try lines.dropFirst().enumerated().map { (i, line) in
            let cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            func value(_ name: String) -> Double? { column[name].flatMap { $0 < cells.count ? Double(cells[$0]) : nil } }
            guard let epoch = value("epoch"), let loss = value("train_loss"), let metric = value("test_metric"),
                  let seconds = value("seconds"), let rate = value("images_per_second"), Int(epoch) == i + 1
            else { throw NeuralNetError.invalidSpec("\(url.path), line \(i + 2): expected epoch \(i + 1) with numeric cells") }
            return EpochRecord(epoch: Int(epoch), trainLoss: loss, testMetric: metric, seconds: seconds, imagesPerSecond: rate,
                               robustAccuracy: value("robust_accuracy"), purifiedAccuracy: value("purified_accuracy"))
        }
    }
}
