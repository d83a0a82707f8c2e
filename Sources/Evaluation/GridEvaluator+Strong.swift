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
    /// APGD-CE per defense and threat. Cells and unbounded results in `previous` (an interrupted
    /// run) are kept, not recomputed; `checkpoint` sees the results after each new one.
    public func runStrong(_ suite: StrongSuite, epsilons: [Float], sanity: Bool,
                          previous: (cells: [StrongCell], unbounded: [String: Double]) = ([], [:]),
                          log: @escaping @Sendable (String) -> Void,
                          checkpoint: (([StrongCell], [String: Double]) -> Void)? = nil) throws(AttackError)
        -> (cells: [StrongCell], sanity: StrongSanity) {
        var cells: [StrongCell] = []
        var unbounded: [String: Double] = [:]
        for d in grid.defenses {
            var cleanCache: [Bool]?
            for threat in (grid.threats.contains(.oblivious) ? [.oblivious] : []) + grid.adaptiveThreats(for: d) {
                let (gradientTarget, queryTarget) = try strongTargets(defense: d, threat: threat, eot: suite.eotSamples)
                for eps in epsilons {
                    if let done = previous.cells.first(where: {
                        $0.defense == d.name && $0.threat == threat.rawValue && $0.epsilon == Double(eps) && $0.images == labels.count
                    }) {
                        cells.append(done)
                        continue
                    }
                    if cleanCache == nil { cleanCache = try correctness(images, defense: d, salt: "strong|clean") }
                    let clean = cleanCache!
                    let start = Date()
                    var after: [String: Int] = [:]
                    var survived: [[Bool]] = []
                    var robust = clean
                    for member in suite.members {
                        let target = member.isWhiteBox ? gradientTarget : queryTarget
                        // Cascade (AutoAttack): attack only the images every earlier attack missed.
                        let attacked = suite.cascade ? robust.indices.filter { robust[$0] } : Array(labels.indices)
                        var ok = suite.cascade ? [Bool](repeating: false, count: labels.count) : clean
                        if !attacked.isEmpty {
                            let sub = attacked.count == labels.count ? self
                                : GridEvaluator(model: model, images: images.gather(attacked), labels: attacked.map { labels[$0] },
                                                grid: grid, store: store, batchSize: batchSize, workers: workers)
                            let adv = sub.perturbAll(salt: "strong|\(threat.rawValue)|\(d.name)", seedParts: [member.rawValue, "\(eps)"],
                                                     labels: sub.labels) { x, y, rng in
                                suite.attack(member, epsilon: eps, x: x, labels: y, target: target, rng: &rng)
                            }
                            let subOK = try sub.correctness(adv, defense: d,
                                                            salt: "strong|eval|\(threat.rawValue)|\(member.rawValue)|\(eps)")
                            for (j, i) in attacked.enumerated() { ok[i] = subOK[j] }
                        }
                        after[member.rawValue] = ok.filter { $0 }.count
                        survived.append(ok)
                        robust = StrongCell.worstCase(clean: robust, attacks: [ok])
                        log(String(format: "%@ %@ ε=%.4g %@: %d/%d correct%@", d.name, threat.rawValue, eps, member.rawValue,
                                   after[member.rawValue]!, labels.count, suite.cascade ? " (after the attacks before it)" : ""))
                    }
                    let worst = StrongCell.worstCase(clean: clean, attacks: survived)
                    let cell = StrongCell(defense: d.name, threat: threat.rawValue, epsilon: Double(eps), images: labels.count,
                                          cleanCorrect: clean.filter { $0 }.count, correctAfter: after,
                                          robust: worst.filter { $0 }.count, seconds: Date().timeIntervalSince(start))
                    log(String(format: "%@ %@ ε=%.4g: clean %d, worst case %d/%d (%.2f%%) in %.0f s", d.name, threat.rawValue, eps,
                               cell.cleanCorrect, cell.robust, cell.images, cell.robustAccuracy * 100, cell.seconds))
                    cells.append(cell)
                    checkpoint?(cells, unbounded)
                }
                if let done = previous.unbounded["\(d.name)|\(threat.rawValue)"] {
                    unbounded["\(d.name)|\(threat.rawValue)"] = done
                } else if sanity {
                    let apgd = APGD(epsilon: 1, objective: .crossEntropy, iterations: suite.iterations)
                    let adv = perturbAll(salt: "strong-unbounded|\(threat.rawValue)|\(d.name)", seedParts: [], labels: labels) { x, y, rng in
                        apgd.perturb(x, labels: y, target: gradientTarget, rng: &rng).adversarial
                    }
                    let ok = try correctness(adv, defense: d, salt: "strong|unbounded")
                    unbounded["\(d.name)|\(threat.rawValue)"] = Double(ok.filter { $0 }.count) / Double(max(1, labels.count))
                    checkpoint?(cells, unbounded)
                }
            }
        }
        return (cells, StrongSanity.check(cells, unbounded: unbounded))
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
