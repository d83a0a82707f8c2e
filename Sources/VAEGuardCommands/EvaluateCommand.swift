import ArgumentParser
import Foundation
import Engine
import NeuralNet
import Datasets
import Models
import Purification
import Training
import Attacks
import Evaluation

/// `vaeguard evaluate [grid]`: attacks × ε × defenses × threat models × seeds on the first N test
/// images, with CSV/JSON results, a markdown summary and SVG plots; resumable.
struct EvaluateGrid: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grid",
        abstract: "Evaluate defenses against FGSM / I-FGSM / PGD / CW under oblivious and adaptive (EOT, BPDA) attacks.",
        discussion: """
        Threat models (the `threat` column):
          oblivious      attack the bare classifier, then purify (the paper's setting)
          adaptive-eot   gradients through the VAE, averaged over --eot noise draws per step
          adaptive-bpda  real purifier forward, identity backward (JPEG, patch VAE; also VAE)
          adaptive       the strongest applicable adaptive attack per defense (VAE: eot, JPEG/patch: bpda)
        Defenses: none, jpeg:Q, vae, vae:k=K (K-sample ensemble), vae:mean, vae:k=K:probs,
          patch-vae, patch-vae:stride=S, patch-vae:mean.
        Seeds change the VAE noise, PGD's random start and the attacker's EOT noise; the images
        are always the first N test images and the attack labels are the classifier's predictions.

        Examples:
          vaeguard evaluate --dataset mnist --attack fgsm,ifgsm --eps paper \\
            --defenses none,jpeg:10,jpeg:23,jpeg:50,jpeg:70,vae --images 1000 --seeds 1,2,3 --output runs/eval-mnist
          vaeguard evaluate --dataset mnist --attack pgd --eps 0.1,0.3 --defenses none,jpeg:23,vae,vae:k=5 \\
            --threat oblivious,adaptive --images 200 --output runs/eval-mnist --resume
          vaeguard evaluate --dataset mnist --clean --defenses jpeg:23,vae --output runs/eval-mnist --resume
          vaeguard evaluate --dataset mnist --classifier models/mnist-robust.json --suite strong --eps 0.1,0.2,0.3 \\
            --defenses none,vae,jpeg:23 --threat oblivious,adaptive --images 1000 --output runs/strong-mnist
          vaeguard evaluate --dataset mnist --detection --attack fgsm,pgd --eps 0.1,0.2,0.3 --images 1000 \\
            --output runs/eval/mnist-detection      # detector calibration (docs/DETECTION.md)
        """)

    @Option(help: "mnist or cifar10.") var dataset: String
    @Option(help: "Datasets root (default: $VAEGUARD_DATASETS, else ../shared/datasets).") var datasets: String?
    @Option(help: "Models folder (default: $VAEGUARD_MODELS, else ./models).") var models: String?
    @Option(help: "Classifier model JSON (default: <models>/<dataset>-classifier.json).") var classifier: String?
    @Option(help: "Whole-image VAE model JSON (default: <models>/<dataset>-vae.json if present).") var vae: String?
    @Option(help: "Patch VAE model JSON (default: <models>/patch-vae-gray-16.json or patch-vae-rgb-8.json if present).")
    var patchVae: String?
    @Option(help: "Attacks, comma-separated: fgsm, ifgsm, pgd, cw.") var attack: String = ""
    @Option(help: "ε values, comma-separated, or 'paper' for each attack's paper grid.") var eps: String = "paper"
    @Option(help: "Defenses, comma-separated.") var defenses: String = "none,jpeg:10,jpeg:23,jpeg:50,jpeg:70,vae"
    @Option(help: "Threat models: oblivious, adaptive, adaptive-eot, adaptive-bpda.") var threat: String = "oblivious"
    @Option(help: "Use the first N test images.") var images: Int = 1000
    @Option(help: "Seeds, comma-separated.") var seeds: String = "1,2,3"
    @Option(help: "Output folder.") var output: String
    @Flag(help: "Keep the results already in --output and skip their cells (--suite strong: also the finished chunks of an unfinished cell; the models, suite settings, --images and --chunk-images must match).")
    var resume = false
    @Flag(help: "Also measure clean accuracy: classifier alone and after each purifier (sample and mean modes).") var clean = false
    @Option(help: "Test images for --clean (default: the whole test set).") var cleanImages: Int?
    @Option(help: "EOT draws per gradient step for stochastic defenses (adaptive).") var eot: Int = 10
    @Option(help: "I-FGSM steps (step ε/steps).") var ifgsmSteps: Int = 10
    @Option(help: "PGD steps.") var pgdSteps: Int = 40
    @Option(help: "PGD step size = factor·ε/steps.") var pgdStepFactor: Float = 2.5
    @Option(help: "CW binary-search steps.") var cwBinarySteps: Int = 5
    @Option(help: "CW Adam steps per binary-search step.") var cwSteps: Int = 100
    @Option(help: "CW Adam learning rate (tanh space).") var cwLearningRate: Float = 0.05
    @Option(help: "CW initial trade-off constant c.") var cwInitialConstant: Float = 1
    @Option(help: "Images per mini-batch.") var batchSize: Int = 100
    @Option(help: "Parallel workers over mini-batches (default: all cores; the engine then runs one thread per worker). Batches are at most --batch-size images, as many as give every worker the same share.")
    var workers: Int?
    @Option(help: "detector (--suite detector): weight λ of the score penalty, CE − λ·max(0, score/τ − 0.9).") var detectorWeight: Float = 10
    @Option(help: "strong: AutoAttack-style suite (APGD-CE, APGD-DLR, targeted APGD-DLR, Square) with the per-image worst case, instead of the grid; detector: PGD (--pgd-steps, --eot) on the classifier and the reconstruction-error flag together (VAE defenses, each flagged at its threshold in --config, or --detection-threshold). Both need --eps as a list.")
    var suite: String?
    @Option(help: "--suite strong: attacks, comma-separated (apgd-ce, apgd-dlr, apgd-t, square).") var suiteAttacks: String = "apgd-ce,apgd-dlr,apgd-t,square"
    @Option(help: "--suite strong: APGD iterations.") var apgdIterations: Int = 100
    @Option(help: "--suite strong: APGD-CE / APGD-DLR restarts (targeted: one run per target).") var apgdRestarts: Int = 1
    @Option(help: "--suite strong: targeted APGD-DLR target classes (the top-2 … top-(N+1)).") var apgdTargets: Int = 9
    @Option(help: "--suite strong: Square attack queries per image.") var squareQueries: Int = 5000
    @Option(help: "--suite strong: images per chunk: each cell (and unbounded check) runs the whole suite on one chunk at a time and checkpoints it, so --resume loses at most one chunk.")
    var chunkImages: Int = 200
    @Flag(help: "--suite strong: skip the unbounded-attack sanity check.") var noSanity = false
    @Flag(help: "--suite strong: run every attack on every image (per-attack accuracies) instead of AutoAttack's cascade.")
    var independent = false
    @Flag(help: "Measure the reconstruction-error detector instead of accuracy (docs/DETECTION.md).") var detection = false
    @Option(help: "--detection: purifiers to score with.") var detectionDefenses: String = "vae,vae:mean"
    @Option(help: "--detection: clean TRAINING images to calibrate thresholds on (default: --images).") var calibrationImages: Int?
    @Option(help: "--detection, --suite detector: the flag threshold for every purifier (default: the model's per-purifier thresholds in --config).") var detectionThreshold: Float?
    @Option(help: "--detection: service configuration holding the model's threshold.") var config: String = "config/vaeguard.json"

    func run() throws {
        // Parallelise at one level only: with several workers, each runs its layers on one core.
        var engine = ComputeSettings.current
        if max(1, workers ?? ProcessInfo.processInfo.activeProcessorCount) > 1 { engine.parallelism = 1 }
        try ComputeSettings.$current.withValue(engine) { try evaluate() }
    }

    private func evaluate() throws {
        guard let kind = DatasetKind(rawValue: dataset) else { throw ValidationError("unknown dataset '\(dataset)' (mnist, cifar10)") }
        let attacks = try attack.split(separator: ",").map { raw -> AttackKind in
            let t = raw.trimmingCharacters(in: .whitespaces)
            guard let a = AttackKind(rawValue: t) else { throw ValidationError("unknown attack '\(t)' (fgsm, ifgsm, pgd, cw)") }
            return a
        }
        guard !attacks.isEmpty || clean || detection || suite != nil else { throw ValidationError("nothing to do: give --attack and/or --clean") }
        var epsilons: [AttackKind: [Float]] = [:]
        for a in attacks {
            if eps == "paper" {
                epsilons[a] = a.paperEpsilons(dataset: kind.rawValue)
            } else {
                let values = eps.split(separator: ",").compactMap { Float($0.trimmingCharacters(in: .whitespaces)) }
                guard !values.isEmpty, values.allSatisfy({ $0 >= 0 }) else { throw ValidationError("--eps: 'paper' or a list like 0.1,0.3") }
                epsilons[a] = values
            }
        }
        let specs = try DefenseSpec.parseList(defenses)
        let (threats, bestAdaptive) = try ThreatModel.parseList(threat)
        let seedList = seeds.split(separator: ",").compactMap { UInt64($0.trimmingCharacters(in: .whitespaces)) }
        guard !seedList.isEmpty else { throw ValidationError("--seeds: a list like 1,2,3") }
        var settings = AttackSettings()
        settings.eotSamples = eot
        settings.ifgsmSteps = ifgsmSteps
        settings.pgdSteps = pgdSteps
        settings.pgdStepFactor = pgdStepFactor
        settings.cw = CarliniWagnerL2(binarySteps: cwBinarySteps, steps: cwSteps, learningRate: cwLearningRate,
                                      initialConstant: cwInitialConstant)

        let workerCount = max(1, workers ?? ProcessInfo.processInfo.activeProcessorCount)
        BLASRuntime.setThreadCount(1)

        let model = try EvaluationModels.load(dataset: kind, models: models, classifier: classifier, vae: vae, patchVAE: patchVae)
        if detection {
            try EvaluateDetection.run(.init(kind: kind, model: model, datasetsRoot: try DatasetKind.locateRoot(explicit: datasets),
                                            attacks: attacks, epsilons: epsilons, defenses: try DefenseSpec.parseList(detectionDefenses),
                                            images: images, calibrationImages: calibrationImages ?? images, seed: seedList[0],
                                            settings: settings, threshold: detectionThreshold, configPath: config,
                                            output: URL(fileURLWithPath: output), batchSize: batchSize, workers: workerCount))
            return
        }
        if let suite {
            try runSuite(suite, kind: kind, model: model, specs: specs, threats: threats, bestAdaptive: bestAdaptive, workers: workerCount)
            return
        }
        let needsVAE = specs.contains { $0.kind == .vae }, needsPatch = specs.contains { $0.kind == .patchVAE }
        if needsVAE && model.defended.vae == nil { throw ValidationError("a vae defense was asked for but no VAE model was found (--vae)") }
        if needsPatch && model.defended.patchVAE == nil { throw ValidationError("a patch-vae defense was asked for but no patch VAE was found (--patch-vae)") }

        let root = try DatasetKind.locateRoot(explicit: datasets)
        let test = try kind.load(root: root, split: .test)
        let store = try ResultStore(directory: URL(fileURLWithPath: output), resume: resume)
        let unchecked = try store.adopt(RunManifest(dataset: kind.rawValue, models: model.fingerprint,
                                    attackImages: attacks.isEmpty ? nil : min(images, test.count),
                                    cleanImages: clean ? min(cleanImages ?? test.count, test.count) : nil,
                                    settings: attacks.isEmpty ? nil : settings))
        if let unchecked { print("warning: \(unchecked)") }
        let grid = EvaluationGrid(dataset: kind.rawValue, attacks: attacks, epsilons: epsilons, defenses: specs, threats: threats,
                                  bestAdaptive: bestAdaptive, seeds: seedList, settings: settings)
        print("models: \(model.description)")
        print("workers \(workerCount), engine parallelism \(ComputeSettings.current.parallelism), batch \(batchSize)")

        if clean {
            let n = min(cleanImages ?? test.count, test.count)
            let (x, y) = test.batch(Array(0..<n))
            let evaluator = GridEvaluator(model: model.defended, images: x, labels: y, grid: grid, store: store,
                                          batchSize: batchSize, workers: workerCount)
            let start = Date()
            try evaluator.runClean(classifierName: model.classifierName)
            print(String(format: "clean accuracy on %d images in %.0f s", n, Date().timeIntervalSince(start)))
        }
        if !attacks.isEmpty {
            let n = min(images, test.count)
            let (x, y) = test.batch(Array(0..<n))
            let evaluator = GridEvaluator(model: model.defended, images: x, labels: y, grid: grid, store: store,
                                          batchSize: batchSize, workers: workerCount)
            let pending = evaluator.pendingCount
            print("grid: \(grid.cellKeys.count) cells on \(n) images, \(pending) to run")
            let bar = ProgressBar(total: pending, label: "evaluate \(kind.rawValue)", plainInterval: 10)
            evaluator.progress = { done, total, processed, cell in
                let extra = String(format: "%@ ε=%.4g %@ %@ seed %llu acc %.3f", cell.attack.rawValue, cell.epsilon,
                                   cell.threat.rawValue, cell.defense, cell.seed, cell.accuracy)
                bar.update(step: done, items: processed, extra: extra)
            }
            let start = Date()
            try evaluator.run()
            bar.finish()
            print(String(format: "grid done in %.0f s", Date().timeIntervalSince(start)))
        }
        try Report.write(store)
        print("results: \(output)/results.csv, results.json, summary.csv, summary.md, plots/")
    }

    /// `--suite strong`: the AutoAttack-style suite on the first --images test images.
    func runSuite(_ name: String, kind: DatasetKind, model: EvaluationModels, specs: [DefenseSpec], threats: [ThreatModel],
                  bestAdaptive: Bool, workers: Int) throws {
        guard name == "strong" || name == "detector" else { throw ValidationError("--suite: strong or detector") }
        let values = eps.split(separator: ",").compactMap { Float($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0 >= 0 && $0 <= 1 }) else { throw ValidationError("--suite needs --eps as a list like 0.1,0.2,0.3") }
        if name == "detector" {
            guard specs.allSatisfy({ $0.kind == .vae || $0.kind == .patchVAE }) else {
                throw ValidationError("--suite detector: --defenses must be VAE defenses (vae, patch-vae, …)")
            }
            if specs.contains(where: { $0.kind == .vae }) && model.defended.vae == nil { throw ValidationError("a vae defense needs --vae") }
            if specs.contains(where: { $0.kind == .patchVAE }) && model.defended.patchVAE == nil { throw ValidationError("a patch-vae defense needs --patch-vae") }
            guard pgdSteps >= 1, eot >= 1 else { throw ValidationError("--pgd-steps and --eot must be ≥ 1") }
            let (defended, source) = EvaluateDetection.deployed(model, dataset: kind.rawValue, explicit: detectionThreshold,
                                                                configPath: config)
            let test = try kind.load(root: try DatasetKind.locateRoot(explicit: datasets), split: .test)
            let (x, y) = test.batch(Array(0..<min(images, test.count)))
            try EvaluateDetectorAttack.run(defended: defended, images: x, labels: y, epsilons: values, defenses: specs,
                                           thresholdSource: source, steps: pgdSteps, weight: detectorWeight, eot: eot,
                                           output: URL(fileURLWithPath: output), batchSize: batchSize, workers: workers)
            return
        }
        var s = StrongSuite()
        s.members = try suiteAttacks.split(separator: ",").map { raw in
            let t = raw.trimmingCharacters(in: .whitespaces)
            guard let m = StrongSuite.Member(rawValue: t) else { throw ValidationError("--suite-attacks: unknown '\(t)' (apgd-ce, apgd-dlr, apgd-t, square)") }
            return m
        }
        guard apgdIterations >= 1, apgdRestarts >= 1, apgdTargets >= 1, squareQueries >= 1, eot >= 1, chunkImages >= 1 else {
            throw ValidationError("--apgd-iterations, --apgd-restarts, --apgd-targets, --square-queries, --eot and --chunk-images must be ≥ 1")
        }
        (s.iterations, s.restarts, s.targets, s.squareQueries, s.eotSamples) = (apgdIterations, apgdRestarts, apgdTargets, squareQueries, eot)
        s.cascade = !independent
        if specs.contains(where: { $0.kind == .vae }) && model.defended.vae == nil { throw ValidationError("a vae defense needs a VAE model (--vae)") }
        if specs.contains(where: { $0.kind == .patchVAE }) && model.defended.patchVAE == nil { throw ValidationError("a patch-vae defense needs --patch-vae") }
        let test = try kind.load(root: try DatasetKind.locateRoot(explicit: datasets), split: .test)
        let (x, y) = test.batch(Array(0..<min(images, test.count)))
        print("models: \(model.description)")
        try EvaluateStrong.run(model: model, dataset: kind.rawValue, images: x, labels: y, epsilons: values, defenses: specs,
                               threats: threats, bestAdaptive: bestAdaptive, suite: s, sanity: !noSanity,
                               output: URL(fileURLWithPath: output), resume: resume, batchSize: batchSize, workers: workers,
                               chunkImages: chunkImages)
    }
}
