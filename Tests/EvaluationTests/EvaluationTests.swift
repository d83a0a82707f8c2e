import Foundation
import Testing
import Engine
import NeuralNet
import Purification
import Attacks
import AttackTestSupport
@testable import Evaluation
import TestSupport

@Suite("Evaluation grid, resume and reports", .computeBound)
struct EvaluationTests {
    @Test func defenseSpecs_parse_andRejectNonsense() throws {
        let specs = try DefenseSpec.parseList("none,jpeg:10,vae,vae:k=5,vae:mean,patch-vae:stride=4:mean,vae:k=3:probs")
        #expect(specs.map(\.name) == ["none", "jpeg:10", "vae", "vae:k=5", "vae:mean", "patch-vae:stride=4:mean", "vae:k=3:probs"])
        #expect(specs[1].options.jpegQuality == 10)
        #expect(specs[3].options.samples == 5)
        #expect(specs[2].isStochastic && !specs[4].isStochastic)
        #expect(throws: AttackError.self) { _ = try DefenseSpec(parsing: "gauss") }
        #expect(throws: AttackError.self) { _ = try DefenseSpec(parsing: "jpeg:500") }
        #expect(throws: AttackError.self) { _ = try DefenseSpec(parsing: "vae:k=x") }
        let (threats, best) = try ThreatModel.parseList("oblivious,adaptive")
        #expect(threats == [.oblivious] && best)
    }

    @Test func paperGrids_matchTheNotes() {
        let mnist = AttackKind.fgsm.paperEpsilons(dataset: "mnist")
        #expect(mnist.count == 20 && mnist.first == 0.005 && abs(mnist.last! - 0.12) < 1e-6)
        #expect(AttackKind.ifgsm.paperEpsilons(dataset: "cifar10").count == 15)
    }

    @Test func grid_runs_resumes_andWritesReports() throws {
        let (x, y) = TinyModels.dataset(count: 12)
        let model = TinyModels.defended(classifier: try TinyModels.templateClassifier(), vae: try TinyModels.smoothVAE())
        var settings = AttackSettings()
        settings.pgdSteps = 5
        settings.eotSamples = 2
        let (threats, best) = try ThreatModel.parseList("oblivious,adaptive")
        let grid = EvaluationGrid(dataset: "tiny", attacks: [.fgsm, .pgd], epsilons: [.fgsm: [0.05, 0.3], .pgd: [0.3]],
                                  defenses: try DefenseSpec.parseList("none,jpeg:50,vae"), threats: threats, bestAdaptive: best,
                                  seeds: [1, 2], settings: settings)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("attacks-test-\(UInt64.random(in: 0...UInt64.max))")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try ResultStore(directory: dir, resume: false)
        let evaluator = GridEvaluator(model: model, images: x, labels: y, grid: grid, store: store, batchSize: 5, workers: 2)
        // 3 ε × (3 oblivious + jpeg BPDA + vae EOT) × 2 seeds.
        #expect(grid.cellKeys.count == 30)
        try evaluator.run()
        try evaluator.runClean(classifierName: "tiny")
        #expect(store.cells.count == 30)
        let none = store.cells.filter { $0.defense == "none" && $0.attack == .fgsm }
        let weak = none.first { abs($0.epsilon - 0.05) < 1e-6 }!.accuracy, strong = none.first { abs($0.epsilon - 0.3) < 1e-6 }!.accuracy
        #expect(strong < weak)
        #expect(store.cells.allSatisfy { $0.threat != .adaptiveEOT || ($0.defense == "vae" && $0.eotSamples == 2) })
        #expect(store.cells.contains { $0.threat == .adaptiveBPDA && $0.defense == "jpeg:50" })
        #expect(store.clean.contains { $0.defense == "vae:mean" } && store.clean.contains { $0.defense == "none" && $0.accuracy > 0.95 })
        // Deterministic attack and defense: seed 2 repeats seed 1's cell instead of recomputing it.
        for d in ["none", "jpeg:50"] {
            let cells = store.cells.filter { $0.defense == d && $0.attack == .fgsm && $0.threat == .oblivious }
            for c in cells where c.seed == 2 {
                let first = cells.first { $0.seed == 1 && $0.epsilon == c.epsilon }!
                #expect(c.correct == first.correct && c.evaluationSeconds == 0)
            }
        }
        #expect(store.cells.filter { $0.defense == "vae" && $0.seed == 2 }.allSatisfy { $0.evaluationSeconds > 0 })
        // Same worker count or not, the same cell gives the same numbers.
        let store1 = try ResultStore(directory: dir.appendingPathComponent("one"), resume: false)
        let single = GridEvaluator(model: model, images: x, labels: y, grid: grid, store: store1, batchSize: 5, workers: 1)
        try single.run()
        for c in store1.cells { #expect(store.cells.first { $0.key == c.key }?.correct == c.correct) }
        // Resume: nothing left to do; without --resume the folder is refused.
        let resumed = try ResultStore(directory: dir, resume: true)
        #expect(resumed.cells.count == 30)
        // Results written without a run.json (before manifests) resume with a warning.
        #expect(try resumed.adopt(RunManifest(dataset: "tiny", models: [:], attackImages: 12, cleanImages: nil,
                                              settings: settings)) != nil)
        #expect(GridEvaluator(model: model, images: x, labels: y, grid: grid, store: resumed).pendingCount == 0)
        #expect(throws: AttackError.self) { _ = try ResultStore(directory: dir, resume: false) }
        try Report.write(resumed)
        let md = try String(contentsOf: dir.appendingPathComponent("summary.md"), encoding: .utf8)
        #expect(md.contains("tiny FGSM (oblivious)") && md.contains("adaptive-eot") && md.contains("Clean accuracy"))
        let svg = try String(contentsOf: dir.appendingPathComponent("plots/tiny-fgsm-oblivious-l2.svg"), encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.contains("polyline"))
        let csv = try String(contentsOf: dir.appendingPathComponent("results.csv"), encoding: .utf8)
        #expect(csv.split(separator: "\n").count == 31)
    }

    @Test func resumingWithOtherImagesModelsOrSettings_isRefused() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("manifest-test-\(UInt64.random(in: 0...UInt64.max))")
        defer { try? FileManager.default.removeItem(at: dir) }
        let models = ["classifier": "c@1 sha256:aa", "vae": "v@1 sha256:bb"]
        let run = RunManifest(dataset: "mnist", models: models, attackImages: 500, cleanImages: nil, settings: AttackSettings())
        #expect(try ResultStore(directory: dir, resume: false).adopt(run) == nil)
        // The same run resumes; a clean-only run into the same folder adds its own field.
        try ResultStore(directory: dir, resume: true).adopt(run)
        try ResultStore(directory: dir, resume: true)
            .adopt(RunManifest(dataset: "mnist", models: models, attackImages: nil, cleanImages: 10000, settings: nil))
        var more = run
        more.attackImages = 1000
        var otherVAE = run
        otherVAE.models["vae"] = "v@1 sha256:cc"
        var otherSettings = run
        otherSettings.settings!.pgdSteps = 7
        var otherClean = run
        otherClean.cleanImages = 500
        for changed in [more, otherVAE, otherSettings, otherClean] {
            #expect(throws: AttackError.self) { try ResultStore(directory: dir, resume: true).adopt(changed) }
        }
        // A model role the earlier run did not load (no patch VAE then) is not a conflict.
        var withPatch = run
        withPatch.models["patchVAE"] = "p@1 sha256:dd"
        try ResultStore(directory: dir, resume: true).adopt(withPatch)
    }

    @Test func cwRunsOncePerTarget_andEachRadiusIsItsProjection() throws {
        let (x, y) = TinyModels.dataset(count: 6)
        let model = TinyModels.defended(classifier: try TinyModels.templateClassifier(), vae: nil)
        var settings = AttackSettings()
        settings.cw = CarliniWagnerL2(binarySteps: 2, steps: 20)
        let grid = EvaluationGrid(dataset: "tiny", attacks: [.cw], epsilons: [.cw: [0.3, 100]], defenses: [try DefenseSpec(parsing: "none")],
                                  threats: [.oblivious], bestAdaptive: false, seeds: [1], settings: settings)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cw-test-\(UInt64.random(in: 0...UInt64.max))")
        defer { try? FileManager.default.removeItem(at: dir) }
        let evaluator = GridEvaluator(model: model, images: x, labels: y, grid: grid, store: try ResultStore(directory: dir, resume: false))
        let target = ClassifierTarget(classifier: model.classifier)
        let unbounded = evaluator.generate(.cw, 100, target: target, salt: "t").0
        let small = evaluator.generate(.cw, 0.3, target: target, salt: "t").0
        #expect(small.maxAbsDifference(CarliniWagnerL2.projectL2(unbounded, around: x, radius: 0.3)) < 1e-6)
        #expect(unbounded.maxAbsDifference(x) > 0, "CW found perturbations")
        try evaluator.run()
        let cells = evaluator.store.cells.sorted { $0.epsilon < $1.epsilon }
        #expect(cells.count == 2 && cells[0].accuracy >= cells[1].accuracy)
    }
}
