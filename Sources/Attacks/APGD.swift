import Foundation
import Engine

/// Auto-PGD (Croce & Hein 2020, "Reliable evaluation of adversarial robustness with an
/// ensemble of diverse parameter-free attacks"), L∞, as in the reference `autopgd_base.py`:
///
/// - random start `x + ε·t/‖t‖∞`, t uniform in [−1, 1];
/// - step size 2ε, momentum 0.75 (`x ← P(x + 0.75·(z − x) + 0.25·(x − x_prev))`, z the
///   projected sign step);
/// - checkpoints after 22 % of the iterations, then ever shorter intervals (−3 %, at least
///   6 %): the step halves, and the walk restarts from the best point, for every image whose
///   loss rose in at most 75 % of the steps since the last checkpoint, or whose step was not
///   halved last time and whose best loss has not improved since;
/// - restarts only for the images not yet misclassified; the targeted version runs once per
///   target, the 2nd … (targets+1)-th most likely class of the clean input.
///
/// Losses are ascended: CE, DLR, or targeted DLR (`AttackLoss`). The result is, per image, the
/// first misclassified iterate found, else the highest-loss one.
public struct APGD: Sendable, Equatable {
    public enum Objective: String, Sendable, Codable, CaseIterable { case crossEntropy = "ce", dlr, targetedDLR = "dlr-t" }

    public var epsilon: Float
    public var objective: Objective
    public var iterations: Int
    public var restarts: Int
    /// Targeted DLR: how many target classes (AutoAttack: 9).
    public var targets: Int

    public init(epsilon: Float, objective: Objective, iterations: Int = 100, restarts: Int = 1, targets: Int = 9) {
        self.epsilon = epsilon
        self.objective = objective
        self.iterations = iterations
        self.restarts = restarts
        self.targets = targets
    }

    /// Checkpoint iterations of the step-size schedule for `n` iterations (the reference's
    /// `n_iter_2 = ⌈0.22 n⌉`, then intervals shrinking by `⌈0.03 n⌉` down to `⌈0.06 n⌉`).
    public static func checkpoints(iterations n: Int) -> [Int] {
        var out: [Int] = []
        var k = max(Int(0.22 * Double(n)), 1)
        let decrease = max(Int(0.03 * Double(n)), 1), minimum = max(Int(0.06 * Double(n)), 1)
        var at = k
        while at <= n {
            out.append(at)
            k = max(k - decrease, minimum)
            at += k
        }
        return out
    }

    /// Attacks `x` `[N, H, W, C]` with true `labels`; returns the adversarial images and which
    /// of them `target` misclassifies (on its logits; images already misclassified count).
    public func perturb(_ x: Tensor, labels: [Int], target: any AttackTarget, rng: inout RandomSource)
        -> (adversarial: Tensor, fooled: [Bool]) {
        let n = x.batchSize
        let clean = target.lossGradient(x, loss: .crossEntropy, labels: labels, rng: &rng).logits
        let classes = clean.count / n
        var fooled = zip(clean.argmaxPerItem(), labels).map { $0 != $1 }
        var adversarial = x
        let ranked: [[Int]] = (0..<n).map { i in
            let row = Array(clean.storage[(i * classes)..<((i + 1) * classes)])
            return (0..<classes).sorted { row[$0] > row[$1] }
        }
        let runs: [AttackLoss]
        switch objective {
        case .crossEntropy: runs = Array(repeating: .crossEntropy, count: restarts)
        case .dlr: runs = Array(repeating: .dlr, count: restarts)
        case .targetedDLR:
            runs = (1...max(1, min(targets, classes - 1))).flatMap { t in
                Array(repeating: AttackLoss.targetedDLR(targets: ranked.map { $0[t] }), count: restarts)
            }
        }
        for loss in runs {
            let active = (0..<n).filter { !fooled[$0] }
            guard !active.isEmpty else { break }
            let subLoss: AttackLoss
            if case .targetedDLR(let t) = loss { subLoss = .targetedDLR(targets: active.map { t[$0] }) } else { subLoss = loss }
            let (adv, hit) = singleRun(x.gather(active), labels: active.map { labels[$0] }, loss: subLoss, target: target, rng: &rng)
            let size = x.itemCount
            for (j, i) in active.enumerated() {
                adversarial.storage.replaceSubrange((i * size)..<((i + 1) * size), with: adv.storage[(j * size)..<((j + 1) * size)])
                fooled[i] = hit[j]
            }
        }
        return (adversarial, fooled)
    }

    /// One APGD run from a random start on every image of `x`.
    func singleRun(_ x: Tensor, labels: [Int], loss: AttackLoss, target: any AttackTarget, rng: inout RandomSource)
        -> (Tensor, [Bool]) {
        let n = x.batchSize, size = x.itemCount
        var adv = x
        for i in 0..<n {
            let t = (0..<size).map { _ in 2 * rng.nextUniform() - 1 }
            let scale = epsilon / max(t.map(abs).max() ?? 1, 1e-12)
            for j in 0..<size { adv.storage[i * size + j] += scale * t[j] }
        }
        LinfAttack.project(&adv, around: x, epsilon: epsilon)
        var (logits, values, grad) = target.lossGradient(adv, loss: loss, labels: labels, rng: &rng)
        var fooled = zip(logits.argmaxPerItem(), labels).map { $0 != $1 }
        var bestAdversarial = adv           // first misclassified iterate, else the best-loss one
        var best = adv, bestGrad = grad, bestLoss = values
        var stepSize = [Float](repeating: 2 * epsilon, count: n)
        var previous = adv, lastLoss = values
        var increases = [Int](repeating: 0, count: n)
        var reducedLastCheck = [Bool](repeating: true, count: n)
        var bestAtLastCheck = bestLoss
        let checkpoints = Set(Self.checkpoints(iterations: iterations))
        var sinceCheck = 0
        for iteration in 0..<iterations {
            let momentum: Float = iteration == 0 ? 1 : 0.75
            var next = adv
            for i in 0..<n {
                for j in (i * size)..<((i + 1) * size) {
                    let g = grad.storage[j]
                    let z = adv.storage[j] + (g > 0 ? stepSize[i] : (g < 0 ? -stepSize[i] : 0))
                    let lo = max(x.storage[j] - epsilon, 0), hi = min(x.storage[j] + epsilon, 1)
                    let zp = min(max(z, lo), hi)
                    let v = adv.storage[j] + momentum * (zp - adv.storage[j]) + (1 - momentum) * (adv.storage[j] - previous.storage[j])
                    next.storage[j] = min(max(v, lo), hi)
                }
            }
            previous = adv
            adv = next
            (logits, values, grad) = target.lossGradient(adv, loss: loss, labels: labels, rng: &rng)
            let predictions = logits.argmaxPerItem()
            for i in 0..<n {
                if !fooled[i] && predictions[i] != labels[i] {
                    fooled[i] = true
                    bestAdversarial.storage.replaceSubrange((i * size)..<((i + 1) * size), with: adv.storage[(i * size)..<((i + 1) * size)])
                }
                if values[i] > lastLoss[i] { increases[i] += 1 }
                lastLoss[i] = values[i]
                if values[i] > bestLoss[i] {
                    bestLoss[i] = values[i]
                    best.storage.replaceSubrange((i * size)..<((i + 1) * size), with: adv.storage[(i * size)..<((i + 1) * size)])
                    bestGrad.storage.replaceSubrange((i * size)..<((i + 1) * size), with: grad.storage[(i * size)..<((i + 1) * size)])
                }
            }
            sinceCheck += 1
            if checkpoints.contains(iteration + 1) {
                for i in 0..<n {
                    let oscillating = Float(increases[i]) <= 0.75 * Float(sinceCheck)
                    let stalled = !reducedLastCheck[i] && bestAtLastCheck[i] >= bestLoss[i]
                    reducedLastCheck[i] = oscillating || stalled
                    bestAtLastCheck[i] = bestLoss[i]
                    increases[i] = 0
                    guard reducedLastCheck[i] else { continue }
                    stepSize[i] /= 2
                    adv.storage.replaceSubrange((i * size)..<((i + 1) * size), with: best.storage[(i * size)..<((i + 1) * size)])
                    grad.storage.replaceSubrange((i * size)..<((i + 1) * size), with: bestGrad.storage[(i * size)..<((i + 1) * size)])
                }
                sinceCheck = 0
            }
        }
        for i in 0..<n where !fooled[i] {
            bestAdversarial.storage.replaceSubrange((i * size)..<((i + 1) * size), with: best.storage[(i * size)..<((i + 1) * size)])
        }
        return (bestAdversarial, fooled)
    }
}
