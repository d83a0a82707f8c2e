import Foundation
import Engine
import Datasets
import Attacks
import Evaluation
import ArgumentParser

/// `vaeguard evaluate --suite strong`: APGD-CE, APGD-DLR, targeted APGD-DLR and Square on
/// the first N test images (true labels), per defense, threat model and ε; the per-image worst
/// case and the sanity checks, written to `strong.json` and `strong.md` after every chunk of
/// `chunkImages` images, so `--resume` continues an interrupted run inside its cell.
enum EvaluateStrong {
    struct Report: Codable {
        var dataset: String
        var models: String
        var command: String
        var suite: StrongSuite
        var cells: [StrongCell]
        var sanity: StrongSanity
        // Optional: files written before chunked checkpoints lack them.
        var images: Int?
        var chunkImages: Int?
        var batchSize: Int?
        var workers: Int?
        /// The finished chunks of the cell (or unbounded check) still running.
        var partial: StrongPartial?

        /// Why `--resume` may not continue this file with these settings, or nil.
        func mismatch(dataset: String, models: String, suite: StrongSuite, images: Int, chunkImages: Int) -> String? {
            if suite != self.suite || dataset != self.dataset || models != self.models { return "other models or suite settings" }
            if let earlier = self.images ?? cells.first?.images, earlier != images { return "\(earlier) images, not \(images)" }
            if let earlier = self.chunkImages, earlier != chunkImages { return "--chunk-images \(earlier), not \(chunkImages)" }
            return nil
        }
    }

    static func run(model: EvaluationModels, dataset: String, images: Tensor, labels: [Int], epsilons: [Float],
                    defenses: [DefenseSpec], threats: [ThreatModel], bestAdaptive: Bool, suite: StrongSuite, sanity: Bool,
                    output: URL, resume: Bool, batchSize: Int, workers: Int, chunkImages: Int) throws {
        let jsonURL = output.appendingPathComponent("strong.json")
        var previous = StrongProgress()
        if let data = FileManager.default.contents(atPath: jsonURL.path) {
            guard resume else { throw ValidationError("\(jsonURL.path) exists; pass --resume to continue it or choose another --output") }
            let earlier = try JSONDecoder().decode(Report.self, from: data)
            if let why = earlier.mismatch(dataset: dataset, models: model.description, suite: suite, images: labels.count,
                                          chunkImages: chunkImages) {
                throw ValidationError("\(jsonURL.path) was made with \(why); choose another --output")
            }
            previous = StrongProgress(cells: earlier.cells, unbounded: earlier.sanity.unboundedAccuracy, partial: earlier.partial)
            print("resuming: \(earlier.cells.count) cells and \(earlier.sanity.unboundedAccuracy.count) unbounded checks already done"
                  + (earlier.partial.map { ", \($0.chunks.count) chunks of an unfinished one" } ?? ""))
        }
        let grid = EvaluationGrid(dataset: dataset, attacks: [], epsilons: [:], defenses: defenses, threats: threats,
                                  bestAdaptive: bestAdaptive, seeds: [1], settings: AttackSettings())
        let evaluator = GridEvaluator(model: model.defended, images: images, labels: labels, grid: grid,
                                      store: try ResultStore(directory: output, resume: true), batchSize: batchSize, workers: workers,
                                      balancesBatches: true)
        print("strong suite: \(suite.members.map(\.rawValue).joined(separator: ", ")) on \(labels.count) images "
              + "in chunks of \(chunkImages) (batches of at most \(batchSize) over \(workers) workers), "
              + "APGD \(suite.iterations) iterations × \(suite.restarts) restarts, \(suite.targets) targets, "
              + "Square \(suite.squareQueries) queries, EOT \(suite.eotSamples), "
              + (suite.cascade ? "cascade (each attack on the survivors of the ones before)" : "every attack on every image"))
        let start = Date()
        let command = "vaeguard " + CommandLine.arguments.dropFirst().joined(separator: " ")
        let write = { (progress: StrongProgress, sanity: StrongSanity) throws in
            let report = Report(dataset: dataset, models: model.description, command: command, suite: suite, cells: progress.cells,
                                sanity: sanity, images: labels.count, chunkImages: chunkImages, batchSize: batchSize, workers: workers,
                                partial: progress.partial)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(report).write(to: jsonURL, options: .atomic)
            try markdown(report).write(to: output.appendingPathComponent("strong.md"), atomically: true, encoding: .utf8)
        }
        let (cells, checks) = try evaluator.runStrong(suite, epsilons: epsilons, sanity: sanity, chunkImages: chunkImages,
                                                      previous: previous, log: { print($0) }, checkpoint: { progress in
            do {
                try write(progress, StrongSanity.check(progress.cells, unbounded: progress.unbounded))
            } catch {
                print("warning: cannot write results: \(error)")
            }
        })
        try write(StrongProgress(cells: cells, unbounded: checks.unboundedAccuracy), checks)
        print(String(format: "strong suite done in %.0f s: %@/strong.md", Date().timeIntervalSince(start), output.path))
    }

    static func markdown(_ r: Report) -> String {
        let members = r.suite.members.map(\.rawValue)
        var md = "# Strong suite: \(r.dataset)\n\n`\(r.command)`\n\nModels: \(r.models)\n\n"
        if r.suite.cascade { md += "Attacks run in cascade: each column counts the images left correct by that attack and all before it.\n\n" }
        md += "| defense | threat | ε | images | clean | " + members.joined(separator: " | ") + " | worst case |\n"
        md += "|" + String(repeating: "---|", count: 6 + members.count) + "\n"
        let order = Dictionary(r.cells.enumerated().map { ("\($1.defense)|\($1.threat)", $0) }, uniquingKeysWith: min)
        for c in r.cells.sorted(by: { (order["\($0.defense)|\($0.threat)"]!, $0.epsilon) < (order["\($1.defense)|\($1.threat)"]!, $1.epsilon) }) {
            let pct = { (k: Int) in String(format: "%.2f %%", 100 * Double(k) / Double(max(1, c.images))) }
            md += "| \(c.defense) | \(c.threat) | \(String(format: "%.4g", c.epsilon)) | \(c.images) | \(pct(c.cleanCorrect)) | "
            md += members.map { c.correctAfter[$0].map(pct) ?? "–" }.joined(separator: " | ") + " | **\(pct(c.robust))** |\n"
        }
        if let p = r.partial {
            let what = p.epsilon.map { "ε = " + String(format: "%.4g", $0) } ?? "unbounded check"
            md += "\nUnfinished: \(p.defense) \(p.threat) \(what), \(p.chunks.count) chunks of \(p.chunkImages) images done "
                + "(`--resume` continues it).\n"
        }
        md += "\n## Sanity checks (Carlini et al. 2019)\n\n"
        md += "- accuracy monotone in ε: \(r.sanity.monotoneInEpsilon ? "yes" : "**NO**")\n"
        for (k, v) in r.sanity.unboundedAccuracy.sorted(by: { $0.key < $1.key }) {
            // An oblivious attack ignores the purifier, so only the attacks that see the whole
            // pipeline (and any attack on the bare classifier) must reach 0 %.
            let mustReachZero = !k.hasSuffix("|oblivious") || k.hasPrefix("none|")
            let note = v == 0 ? "" : (mustReachZero ? " **(not 0: investigate)**" : " (oblivious: the attacker ignores the purifier)")
            md += String(format: "- unbounded APGD-CE (ε = 1), %@: %.2f %%%@\n", k, v * 100, note)
        }
        if r.sanity.blackBoxBeatsWhiteBox.isEmpty {
            md += "- Square (black-box) never beats the best white-box attack\n"
        } else {
            for f in r.sanity.blackBoxBeatsWhiteBox { md += "- **black-box beats white-box**: \(f)\n" }
        }
        return md
    }
}
