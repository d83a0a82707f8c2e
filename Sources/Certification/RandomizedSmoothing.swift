import Foundation

/// PREDICT and CERTIFY of randomized smoothing on counts of base-classifier labels, exactly
/// as Cohen, Rosenfeld & Kolter (ICML 2019, Algorithms 1–2; github.com/locuslab/smoothing,
/// `code/core.py`) define them. Sampling is separate (`SmoothedClassifier`, or the proxy's
/// upstream queries), so the decision rules are tested on counts alone.
public enum RandomizedSmoothing {
    /// The certified L2 radius σ·Φ⁻¹(p_A) for a lower bound p_A > 1/2 on the top class's
    /// probability (Cohen et al., Theorem 1 with p_B = 1 − p_A).
    public static func radius(pALower: Double, sigma: Double) -> Double {
        sigma * NormalQuantile.inverseCDF(pALower)
    }

    /// CERTIFY: ĉ_A is the most frequent label among the n0 selection samples; p_A is the
    /// one-sided (1 − α) Clopper–Pearson lower bound from its count among the n estimation
    /// samples. Abstains when p_A ≤ 1/2 (Cohen's code: p_A < 1/2; at exactly 1/2 the radius is
    /// 0 either way), else returns ĉ_A with radius σ·Φ⁻¹(p_A).
    /// - Parameters:
    ///   - selectionCounts: label counts of the n0 selection samples.
    ///   - estimationCounts: label counts of the n estimation samples (independent of the first).
    public static func certify(selectionCounts: [Int], estimationCounts: [Int], alpha: Double, sigma: Double) -> Certificate {
        let n0 = selectionCounts.reduce(0, +), n = estimationCounts.reduce(0, +)
        let top = argmax(selectionCounts)
        let nA = top < estimationCounts.count ? estimationCounts[top] : 0
        let pA = BinomialStatistics.clopperPearsonLower(successes: nA, trials: n, alpha: alpha)
        let abstained = pA <= 0.5
        return Certificate(label: abstained ? nil : top, radius: abstained ? 0 : radius(pALower: pA, sigma: sigma),
                           pALower: pA, countA: nA, sigma: sigma, n: n, n0: n0, alpha: alpha)
    }

    /// PREDICT: the top two counts n_A ≥ n_B of n samples; returns the top label when the
    /// two-sided binomial test of n_A out of n_A + n_B at p = 1/2 rejects at level α, nil
    /// (abstain) otherwise. The returned label differs from g(x) with probability ≤ α.
    public static func predict(counts: [Int], alpha: Double) -> Int? {
        let order = counts.indices.sorted { counts[$0] != counts[$1] ? counts[$0] > counts[$1] : $0 < $1 }
        guard let first = order.first, counts[first] > 0 else { return nil }
        let nA = counts[first], nB = order.count > 1 ? counts[order[1]] : 0
        return BinomialStatistics.binomialTestHalf(successes: nA, trials: nA + nB) > alpha ? nil : first
    }

    /// The lowest index among the largest counts (numpy's `argmax`, which Cohen's code uses).
    static func argmax(_ counts: [Int]) -> Int {
        var best = 0
        for (i, c) in counts.enumerated() where c > counts[best] { best = i }
        return best
    }
}

/// What CERTIFY returns: the label (nil = abstained) and its certified L2 radius, with the
/// numbers behind them.
public struct Certificate: Sendable, Equatable, Codable {
    public var label: Int?
    /// σ·Φ⁻¹(p_A); 0 when abstained.
    public var radius: Double
    /// The Clopper–Pearson lower bound p_A.
    public var pALower: Double
    /// How many of the n estimation samples the base classifier labelled ĉ_A.
    public var countA: Int
    public var sigma: Double
    public var n: Int
    public var n0: Int
    public var alpha: Double

    public var abstained: Bool { label == nil }
}
