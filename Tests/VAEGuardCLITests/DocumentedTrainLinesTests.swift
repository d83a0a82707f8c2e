import Testing
import Foundation
@testable import VAEGuardCommands
import Training
import TestSupport

/// Every complete `train` command line in README.md, docs/*.md and scripts/*.sh (one with
/// --dataset or --images; prose fragments such as "`train classifier --noise-sigma`" are not
/// command lines) still parses, and builds the options the flat command built.
@Suite("vaeguard train: documented command lines", .computeBound)
struct DocumentedTrainLinesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The lines, with backslash continuations joined and shell variables replaced by 1.
    static func documentedLines() throws -> [(file: String, line: String)] {
        let fm = FileManager.default
        var files = ["README.md"]
        for folder in ["docs", "scripts"] {
            let names = try fm.contentsOfDirectory(atPath: root.appendingPathComponent(folder).path).sorted()
            files += names.filter { $0.hasSuffix(folder == "docs" ? ".md" : ".sh") }.map { "\(folder)/\($0)" }
        }
        let variable = try Regex(#""?\$\{?\w+\}?"?"#)
        let command = try Regex(#"train (classifier|vae|patch-vae|guided-vae|denoiser)((?: +[^\s`"|;#)]+)*)"#)
        var lines: [(String, String)] = []
        for file in files {
            let text = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8)
                .replacingOccurrences(of: "\\\n", with: " ")
                .replacing(variable, with: "1")
            for match in text.matches(of: command) {
                let line = String(text[match.range]).split(whereSeparator: \.isWhitespace).joined(separator: " ")
                if line.contains("--dataset ") || line.contains("--images ") { lines.append((file, line)) }
            }
        }
        return lines
    }

    @Test("the documented train lines parse and build the same TrainingOptions as before")
    func documentedLinesParse() throws {
        let lines = try Self.documentedLines()
        #expect(lines.count >= 25, "found only \(lines.count) lines: is the scan broken?")
        #expect(lines.contains { $0.file == "scripts/train-models.sh" && $0.line.contains("--milestones 11,14") })
        for (file, line) in lines {
            let job = try #require(try parse(line) as? any TrainJob, "\(file): \(line)")
            let legacy = try LegacyTrainArguments.parse(Self.withoutNewerOptions(Array(TrainLines.arguments(line).dropFirst())))
            #expect(try canonical(Self.resettingNewerOptions(job.trainingOptions())) == canonical(legacy.trainingOptions()),
                    "\(file): \(line)")
        }
    }

    /// Options added after the command tree (each takes one value): the frozen flat command
    /// never had them, so they are compared only where both commands have something to say.
    static let newerOptions = ["--prior-curve", "--monitor-classifier", "--monitor-every"]

    static func withoutNewerOptions(_ arguments: [String]) -> [String] {
        var out: [String] = [], skip = false
        for a in arguments {
            if skip { skip = false; continue }
            if newerOptions.contains(a) { skip = true; continue }
            out.append(a)
        }
        return out
    }

    static func resettingNewerOptions(_ options: TrainingOptions) -> TrainingOptions {
        var o = options
        let defaults = TrainingOptions()
        o.priorCurve = defaults.priorCurve
        o.monitorClassifier = defaults.monitorClassifier
        o.monitorEvery = defaults.monitorEvery
        return o
    }
}
