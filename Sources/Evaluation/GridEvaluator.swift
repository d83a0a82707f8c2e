import Foundation
import Synchronization
import Engine
import NeuralNet
import Purification
import Attacks

/// Runs an `EvaluationGrid` on a defended model and a set of test images, writing every
/// finished cell to a `ResultStore` (and skipping the cells already there).
///
/// Work is split into mini-batches (`MiniBatches`) spread over `workers` threads with
/// `Parallel.forEachChunk`. Each mini-batch draws its random numbers from a generator seeded by
/// (seed, cell, batch index). The grid cuts fixed batches of `batchSize`, so its results do not
/// depend on the number of workers; the strong suite (`balancesBatches`) balances them over the
/// workers instead. Run with `ComputeSettings.current.parallelism` bound to 1 when `workers > 1`
/// (one level of parallelism).
public final class GridEvaluator: Sendable {
    public let model: DefendedModel
    public let images: Tensor
    public let labels: [Int]
    public let grid: EvaluationGrid
    public let store: ResultStore
    public let batchSize: Int
    public let workers: Int
    /// Balanced rather than fixed mini-batches (`MiniBatches`): the strong suite's survivor sets.
    public let balancesBatches: Bool

    public typealias Progress = @Sendable (Int, Int, Int, CellResult) -> Void
    /// Called after each finished cell: (cells done, cells to do, images processed, the cell).
    public var progress: Progress? {
        get { progressHandler.withLock { $0 } }
        set { progressHandler.withLock { $0 = newValue } }
    }
    private let progressHandler = Mutex<Progress?>(nil)

    /// Attack labels: the bare classifier's predictions on the clean images, computed on first use.
    public var attackLabels: [Int] {
        attackLabelCache.withLock { cached in
            if let cached { return cached }
            let computed = predictions(images)
            cached = computed
            return computed
        }
    }
    private let attackLabelCache = Mutex<[Int]?>(nil)

    public init(model: DefendedModel, images: Tensor, labels: [Int], grid: EvaluationGrid, store: ResultStore,
                batchSize: Int = 100, workers: Int = 1, balancesBatches: Bool = false) {
        precondition(images.batchSize == labels.count, "images and labels differ in count")
        self.model = model
        self.images = images
        self.labels = labels
        self.grid = grid
        self.store = store
        self.batchSize = max(1, batchSize)
        self.workers = max(1, workers)
        self.balancesBatches = balancesBatches
    }

    /// Cells of the grid not yet in the store.
    public var pendingCount: Int { grid.cellKeys.filter { !store.contains($0) }.count }

    // MARK: - Running the grid

    public func run() throws(AttackError) {
        let total = pendingCount
        var done = 0
        var processed = 0
        func finish(_ cell: CellResult) throws(AttackError) {
            try store.add(cell)
            done += 1
            processed += cell.images
            progress?(done, total, processed, cell)
        }
        let classifierTarget = ClassifierTarget(classifier: model.classifier)
        for attack in grid.attacks {
            for eps in grid.epsilons[attack] ?? [] {
                // Oblivious: one set of adversarial images per (attack, ε[, seed]) for all defenses.
                if grid.threats.contains(.oblivious) {
                    var shared: (Tensor, Distortion, Double)?
                    var repeated = RepeatedCells()
                    for seed in grid.seeds {
                        let pending = grid.defenses.filter {
                            !store.contains(key(attack, eps, .oblivious, $0, seed))
                        }
                        if pending.isEmpty { continue }
                        if let cells = repeated.cells(for: pending, seed: seed, deterministicAttack: !attack.isRandomised) {
                            for cell in cells { try finish(cell) }
                            continue
                        }
                        let generated: (Tensor, Distortion, Double)
                        if let shared, !attack.isRandomised {
                            generated = shared
                        } else {
                            generated = generate(attack, eps, target: classifierTarget,
                                                 salt: "oblivious|\(attack.isRandomised ? seed : 0)")
                            shared = generated
                        }
                        for d in pending {
                            if let cell = repeated.cell(for: d, seed: seed, deterministicAttack: !attack.isRandomised) {
                                try finish(cell)
                                continue
                            }
                            let cell = try evaluate(generated, attack: attack, eps: eps, threat: .oblivious, defense: d, seed: seed, eot: 0)
                            repeated.remember(cell, defense: d)
                            try finish(cell)
                        }
                    }
                }
                // Adaptive: adversarial images per defense.
                for d in grid.defenses {
                    for threat in grid.adaptiveThreats(for: d) {
                        let target = try DefendedTarget(model: model, options: d.options,
                                                        backward: threat == .adaptiveEOT ? .exact : .identity,
                                                        eotSamples: grid.settings.eotSamples)
                        let deterministic = !attack.isRandomised && !target.isStochastic
                        var shared: (Tensor, Distortion, Double)?
                        var repeated = RepeatedCells()
                        for seed in grid.seeds where !store.contains(key(attack, eps, threat, d, seed)) {
                            if let cell = repeated.cell(for: d, seed: seed, deterministicAttack: deterministic) {
                                try finish(cell)
                                continue
                            }
                            let generated: (Tensor, Distortion, Double)
                            if let shared, deterministic {
                                generated = shared
                            } else {
                                generated = generate(attack, eps, target: target,
                                                     salt: "\(threat.rawValue)|\(d.name)|\(deterministic ? 0 : seed)")
                                shared = generated
                            }
                            let cell = try evaluate(generated, attack: attack, eps: eps, threat: threat, defense: d, seed: seed,
                                                    eot: target.effectiveEOTSamples)
                            repeated.remember(cell, defense: d)
                            try finish(cell)
                        }
                    }
                }
            }
        }
    }

    /// Cells that another seed would only repeat: with a deterministic attack and a
    /// deterministic defense (none, JPEG, a VAE in mean mode) every seed sees the same images
    /// and gives the same count, so the first seed's cell is copied instead of recomputed.
    struct RepeatedCells {
        private var first: [String: CellResult] = [:]

        mutating func remember(_ cell: CellResult, defense: DefenseSpec) {
            if first[defense.name] == nil { first[defense.name] = cell }
        }

        func cell(for defense: DefenseSpec, seed: UInt64, deterministicAttack: Bool) -> CellResult? {
            guard deterministicAttack, !defense.isStochastic, var cell = first[defense.name] else { return nil }
            cell.seed = seed
            cell.attackSeconds = 0
            cell.evaluationSeconds = 0
            return cell
        }

        /// All of `defenses` at `seed` when every one is a repeat (no attack needed then).
        func cells(for defenses: [DefenseSpec], seed: UInt64, deterministicAttack: Bool) -> [CellResult]? {
            let cells = defenses.compactMap { cell(for: $0, seed: seed, deterministicAttack: deterministicAttack) }
            return cells.count == defenses.count ? cells : nil
        }
    }

    private func key(_ attack: AttackKind, _ eps: Float, _ threat: ThreatModel, _ d: DefenseSpec, _ seed: UInt64) -> String {
        CellResult.key(dataset: grid.dataset, attack: attack, epsilon: Double(eps), threat: threat, defense: d.name, seed: seed)
    }

    private func evaluate(_ generated: (Tensor, Distortion, Double), attack: AttackKind, eps: Float, threat: ThreatModel,
                          defense: DefenseSpec, seed: UInt64, eot: Int) throws(AttackError) -> CellResult {
        let start = Date()
        let correct = try countCorrect(generated.0, defense: defense,
                                       salt: "eval|\(seed)|\(attack.rawValue)|\(eps)|\(threat.rawValue)")
        let (adv, distortion, attackSeconds) = generated
        _ = adv
        return CellResult(dataset: grid.dataset, attack: attack, norm: attack.norm, epsilon: Double(eps), threat: threat,
                          defense: defense.name, seed: seed, images: labels.count, correct: correct,
                          accuracy: Double(correct) / Double(max(1, labels.count)),
                          normalisedL2: distortion.meanNormalisedL2, meanL2: distortion.meanL2, maxLinf: distortion.linfMax,
                          eotSamples: eot, attackSeconds: attackSeconds, evaluationSeconds: Date().timeIntervalSince(start))
    }

    // MARK: - Batched, parallel primitives

    /// Adversarial images for every test image, with their distortion and the seconds taken.
    ///
    /// CW finds each image's minimal fooling perturbation whatever ε is, so it runs once per
    /// target (`salt`) and every ε is that result projected onto its L2 ball.
    public func generate(_ attack: AttackKind, _ eps: Float, target: any AttackTarget, salt: String) -> (Tensor, Distortion, Double) {
        let start = Date()
        let adv: Tensor
        if attack == .cw {
            let cw = grid.settings.cw
            let minimal = cwMinimal.withLock { $0[salt] } ?? {
                let m = perturbAll(salt: salt, seedParts: ["cw"]) { x, labels, rng in
                    cw.perturb(x, labels: labels, target: target, rng: &rng)
                }
                cwMinimal.withLock { $0[salt] = m }
                return m
            }()
            adv = CarliniWagnerL2.projectL2(minimal, around: images, radius: eps)
        } else {
            let settings = grid.settings
            adv = perturbAll(salt: salt, seedParts: [attack.rawValue, "\(eps)"]) { x, labels, rng in
                settings.run(attack, epsilon: eps, x: x, labels: labels, target: target, rng: &rng)
            }
        }
        return (adv, Distortion(original: images, adversarial: adv), Date().timeIntervalSince(start))
    }

    /// Minimal-norm CW images per target, shared by the grid's L2 radii.
    private let cwMinimal = Mutex<[String: Tensor]>([:])

    /// The mini-batches of `count` images.
    func miniBatches(_ count: Int) -> MiniBatches {
        balancesBatches ? .balanced(count: count, maxSize: batchSize, workers: workers) : .fixed(count: count, size: batchSize)
    }

    /// `perturb` applied to every mini-batch (`miniBatches`) in parallel, each with its own
    /// generator seeded from (salt, seedParts, batch index).
    /// The attack labels are `attackLabels` unless `labels` is given (the strong suite attacks
    /// the true labels).
    func perturbAll(salt: String, seedParts: [String], labels: [Int]? = nil,
                    _ perturb: @escaping @Sendable (Tensor, [Int], inout RandomSource) -> Tensor) -> Tensor {
        let labels = labels ?? attackLabels
        let size = images.itemCount
        let plan = miniBatches(images.batchSize)
        var out = [Float](repeating: 0, count: images.count)
        out.withUnsafeMutableBufferPointer { buffer in
            Parallel.forEachChunk(count: plan.batches, maxChunks: workers) { range in
                for bi in range {
                    let (lo, hi) = (plan.range(bi).lowerBound, plan.range(bi).upperBound)
                    var rng = RandomSource(seed: SeedMixer.seed(([salt] + seedParts + ["\(bi)"]).joined(separator: "|")))
                    let adv = perturb(images.batch(lo..<hi), Array(labels[lo..<hi]), &rng)
                    for i in 0..<adv.count { buffer[lo * size + i] = adv.storage[i] }
                }
            }
        }
        return Tensor(shape: images.shape, storage: out)
    }

    /// How many of `x` the defended model classifies correctly (true labels).
    public func countCorrect(_ x: Tensor, defense: DefenseSpec, salt: String) throws(AttackError) -> Int {
        try correctness(x, defense: defense, salt: salt).filter { $0 }.count
    }

    /// Whether the defended model classifies each of `x` correctly (true labels), in the
    /// mini-batches of `miniBatches`, each with noise seeded from (salt, defense, batch index).
    public func correctness(_ x: Tensor, defense: DefenseSpec, salt: String) throws(AttackError) -> [Bool] {
        let n = x.batchSize
        let plan = miniBatches(n)
        let options = defense.options
        let chunks = Parallel.chunkCount(count: plan.batches, maxChunks: workers)
        var correct = [Bool](repeating: false, count: n)
        var failures = [String?](repeating: nil, count: chunks)
        correct.withUnsafeMutableBufferPointer { correctBuffer in
            failures.withUnsafeMutableBufferPointer { failureBuffer in
                Parallel.forEachChunk(count: plan.batches, maxChunks: workers) { (chunk: Int, range: Range<Int>) in
                    for bi in range {
                        let (lo, hi) = (plan.range(bi).lowerBound, plan.range(bi).upperBound)
                        var rng = RandomSource(seed: SeedMixer.seed(salt, defense.name, "\(bi)"))
                        do {
                            let results = try model.classify(x.batch(lo..<hi), options: options, rng: &rng)
                            for (j, r) in results.enumerated() {
                                let predicted = r.probabilities.indices.max { r.probabilities[$0] < r.probabilities[$1] }!
                                correctBuffer[lo + j] = predicted == labels[lo + j]
                            }
                        } catch {
                            failureBuffer[chunk] = "\(error)"
                        }
                    }
                }
            }
        }
        if let failure = failures.compactMap({ $0 }).first { throw .unavailable("defense \(defense.name): \(failure)") }
        return correct
    }

    /// The bare classifier's predictions.
    public func predictions(_ x: Tensor) -> [Int] {
        BatchedPredictions.top1(model.classifier, x, batchSize: batchSize, workers: workers)
    }
}
