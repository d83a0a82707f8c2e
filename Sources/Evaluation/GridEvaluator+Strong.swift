import Foundation
import Engine
import Purification
import Attacks

/// The strong suite on the grid's images, mini-batches and workers: for each defense and
/// threat model (oblivious: the bare classifier; adaptive: through the purifier with EOT, or
/// BPDA for JPEG) and each ε, every attack of the suite against the true labels, the defended
/// model's verdict on each result, and the per-image worst case.
extension GridEvaluator {
    /// Runs `suite` at each of `epsilons` on the grid's defenses and threat models (`adaptive`
    /// = the strongest applicable one per defense); with `sanity`, also the unbounded (ε = 1)
    /// APGD-CE per defense and threat.
    ///
    /// Each cell (and each unbounded check) runs on contiguous chunks of `chunkImages` images,
    /// the whole cascade on one chunk before the next, and `checkpoint` sees the progress after
    /// every chunk and every finished cell. Cells, unbounded results and the finished chunks of
    /// an unfinished cell in `previous` (an interrupted run with the same settings) are kept,
    /// not recomputed: the result is the same as without the interruption. A checkpoint that
    /// throws stops the run.
    public func runStrong(_ suite: StrongSuite, epsilons: [Float], sanity: Bool, chunkImages: Int = 200,
                          previous: StrongProgress = StrongProgress(),
                          log: @escaping @Sendable (String) -> Void,
                          checkpoint: ((StrongProgress) throws(AttackError) -> Void)? = nil) throws(AttackError)
        -> (cells: [StrongCell], sanity: StrongSanity) {
        var progress = StrongProgress()
        let n = labels.count
        for d in grid.defenses {
            var cleanCache: [Bool]?
            for threat in (grid.threats.contains(.oblivious) ? [.oblivious] : []) + grid.adaptiveThreats(for: d) {
                let (gradientTarget, queryTarget) = try strongTargets(defense: d, threat: threat, eot: suite.eotSamples)
                for eps in epsilons {
                    if let done = previous.cells.first(where: {
                        $0.defense == d.name && $0.threat == threat.rawValue && $0.epsilon == Double(eps) && $0.images == n
                    }) {
                        progress.cells.append(done)
                        continue
                    }
                    let work = StrongPartial(defense: d.name, threat: threat.rawValue, epsilon: Double(eps), images: n,
                                             chunkImages: chunkImages)
                    let chunks = try runChunks(work, previous: previous.partial, progress: &progress, log: log,
                                               checkpoint: checkpoint) { (range) throws(AttackError) in
                        if cleanCache == nil { cleanCache = try correctness(images, defense: d, salt: "strong|clean") }
                        return try strongChunk(range, clean: Array(cleanCache![range]), suite: suite, eps: eps, defense: d,
                                               threat: threat, targets: (gradientTarget, queryTarget), log: log)
                    }
                    let cell = StrongCell(assembling: chunks, work: work, members: suite.members)
                    log(String(format: "%@ %@ ε=%.4g: clean %d, worst case %d/%d (%.2f%%) in %.0f s", d.name, threat.rawValue, eps,
                               cell.cleanCorrect, cell.robust, cell.images, cell.robustAccuracy * 100, cell.seconds))
                    progress.cells.append(cell)
                    progress.partial = nil
                    try checkpoint?(progress)
                }
                let key = "\(d.name)|\(threat.rawValue)"
                if let done = previous.unbounded[key] {
                    progress.unbounded[key] = done
                } else if sanity {
                    let work = StrongPartial(defense: d.name, threat: threat.rawValue, epsilon: nil, images: n, chunkImages: chunkImages)
                    let apgd = APGD(epsilon: 1, objective: .crossEntropy, iterations: suite.iterations)
                    let chunks = try runChunks(work, previous: previous.partial, progress: &progress, log: log,
                                               checkpoint: checkpoint) { (range) throws(AttackError) in
                        let start = Date(), from = "from \(range.lowerBound)"
                        let sub = subset(Array(range))
                        let adv = sub.perturbAll(salt: "strong-unbounded|\(threat.rawValue)|\(d.name)", seedParts: [from],
                                                 labels: sub.labels) { x, y, rng in
                            apgd.perturb(x, labels: y, target: gradientTarget, rng: &rng).adversarial
                        }
                        let ok = try sub.correctness(adv, defense: d, salt: "strong|unbounded|\(from)")
                        return StrongChunk(start: range.lowerBound, clean: nil, correctAfter: [StrongSuite.Member.apgdCE.rawValue: Outcomes(ok)],
                                           seconds: Date().timeIntervalSince(start))
                    }
                    let correct = chunks.reduce(0) { $0 + ($1.correctAfter[StrongSuite.Member.apgdCE.rawValue]?.correct ?? 0) }
                    progress.unbounded[key] = Double(correct) / Double(max(1, n))
                    progress.partial = nil
                    try checkpoint?(progress)
                }
            }
        }
        return (progress.cells, StrongSanity.check(progress.cells, unbounded: progress.unbounded))
    }

    /// The chunks of `work`: those `previous` finished (when it is the same work), then the
    /// rest from `body`, each recorded in `progress.partial` and checkpointed (but the last,
    /// which the caller folds into its result).
    private func runChunks(_ work: StrongPartial, previous: StrongPartial?, progress: inout StrongProgress,
                           log: @Sendable (String) -> Void, checkpoint: ((StrongProgress) throws(AttackError) -> Void)?,
                           _ body: (Range<Int>) throws(AttackError) -> StrongChunk) throws(AttackError) -> [StrongChunk] {
        var partial = work
        if let previous, previous.isSameWork(as: work) {
            partial.chunks = previous.validChunks
            if !partial.chunks.isEmpty {
                log("\(work.defense) \(work.threat) \(work.epsilon.map { String(format: "ε=%.4g", $0) } ?? "unbounded"): "
                    + "resuming after \(partial.chunks.count) finished chunks")
            }
        }
        let size = max(1, work.chunkImages)
        for start in stride(from: partial.chunks.count * size, to: work.images, by: size) {
            let range = start..<min(work.images, start + size)
            partial.chunks.append(try body(range))
            if range.upperBound < work.images {
                progress.partial = partial
                try checkpoint?(progress)
            }
        }
        return partial.chunks
    }

    /// The suite on one chunk of the images: the defended model's verdict clean (given) and
    /// after each attack, each attack on the chunk's images every earlier one missed (cascade)
    /// or on all of them. The chunk's first index enters every seed, so chunks draw different
    /// random streams.
    private func strongChunk(_ range: Range<Int>, clean: [Bool], suite: StrongSuite, eps: Float, defense d: DefenseSpec,
                             threat: ThreatModel, targets: (gradient: any AttackTarget, query: any AttackTarget),
                             log: @Sendable (String) -> Void) throws(AttackError) -> StrongChunk {
        let start = Date(), from = "from \(range.lowerBound)"
        var after: [String: Outcomes] = [:]
        var robust = clean
        for member in suite.members {
            let target = member.isWhiteBox ? targets.gradient : targets.query
            // Cascade (AutoAttack): attack only the images every earlier attack missed.
            let attacked = suite.cascade ? range.filter { robust[$0 - range.lowerBound] } : Array(range)
            var ok = suite.cascade ? [Bool](repeating: false, count: range.count) : clean
            if !attacked.isEmpty {
                let sub = subset(attacked)
                let adv = sub.perturbAll(salt: "strong|\(threat.rawValue)|\(d.name)", seedParts: [member.rawValue, "\(eps)", from],
                                         labels: sub.labels) { x, y, rng in
                    suite.attack(member, epsilon: eps, x: x, labels: y, target: target, rng: &rng)
                }
                let subOK = try sub.correctness(adv, defense: d,
                                                salt: "strong|eval|\(threat.rawValue)|\(member.rawValue)|\(eps)|\(from)")
                for (j, i) in attacked.enumerated() { ok[i - range.lowerBound] = subOK[j] }
            }
            after[member.rawValue] = Outcomes(ok)
            robust = StrongCell.worstCase(clean: robust, attacks: [ok])
            log(String(format: "%@ %@ ε=%.4g images %d–%d %@: %d/%d correct%@", d.name, threat.rawValue, eps, range.lowerBound,
                       range.upperBound - 1, member.rawValue, after[member.rawValue]!.correct, range.count,
                       suite.cascade ? " (after the attacks before it)" : ""))
        }
        return StrongChunk(start: range.lowerBound, clean: Outcomes(clean), correctAfter: after, seconds: Date().timeIntervalSince(start))
    }

    /// An evaluator on the images at `indices` (same model, grid, batches and workers).
    private func subset(_ indices: [Int]) -> GridEvaluator {
        GridEvaluator(model: model, images: images.gather(indices), labels: indices.map { labels[$0] }, grid: grid, store: store,
                      batchSize: batchSize, workers: workers, balancesBatches: balancesBatches)
    }

    /// The white-box target (gradients) and the query target (Square: logits of one draw).
    func strongTargets(defense d: DefenseSpec, threat: ThreatModel, eot: Int) throws(AttackError)
        -> (gradient: any AttackTarget, query: any AttackTarget) {
        if threat == .oblivious {
            let target = ClassifierTarget(classifier: model.classifier)
            return (target, target)
        }
        let gradient = try DefendedTarget(model: model, options: d.options, backward: threat == .adaptiveEOT ? .exact : .identity,
                                          eotSamples: eot)
        let query = try DefendedTarget(model: model, options: d.options, backward: .identity, eotSamples: 1)
        return (gradient, query)
    }
}
