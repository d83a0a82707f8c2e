import Foundation

/// The binomial statistics of randomized smoothing (Cohen, Rosenfeld & Kolter, "Certified
/// Adversarial Robustness via Randomized Smoothing", ICML 2019, and their `core.py`):
/// the one-sided Clopper–Pearson lower bound that CERTIFY uses, and the two-sided binomial
/// test that PREDICT uses. Double precision throughout; checked against scipy in the tests.
public enum BinomialStatistics {
    /// The one-sided (1 − α) Clopper–Pearson lower confidence bound on p from k successes in
    /// n trials: the α-quantile of Beta(k, n − k + 1), 0 when k = 0.
    ///
    /// Cohen et al. call statsmodels' `proportion_confint(k, n, alpha=2α, method="beta")[0]`,
    /// which is this same quantile (`scipy.stats.beta.ppf(α, k, n-k+1)`).
    public static func clopperPearsonLower(successes k: Int, trials n: Int, alpha: Double) -> Double {
        precondition(n > 0 && (0...n).contains(k) && alpha > 0 && alpha < 1, "need 0 ≤ k ≤ n, n > 0, 0 < α < 1")
        if k == 0 { return 0 }
        // Beta(n, 1) has CDF xⁿ: the quantile has a closed form, exact where bisection is slow to resolve 1 − 1e-5.
        if k == n { return pow(alpha, 1 / Double(n)) }
        return betaQuantile(alpha, a: Double(k), b: Double(n - k + 1))
    }

    /// The two-sided exact binomial test of H₀: p = 1/2 for k successes in n trials (scipy's
    /// `binomtest(k, n, 0.5).pvalue`, statsmodels' `binom_test`): the probability under H₀ of an
    /// outcome at least as far from n/2 as k, i.e. min(1, 2·P(X ≤ min(k, n − k))).
    public static func binomialTestHalf(successes k: Int, trials n: Int) -> Double {
        precondition(n > 0 && (0...n).contains(k), "need 0 ≤ k ≤ n, n > 0")
        let m = min(k, n - k)
        if 2 * m == n { return 1 }
        // P(X ≤ m) for X ~ Bin(n, 1/2) is I_{1/2}(n − m, m + 1).
        return min(1, 2 * regularizedIncompleteBeta(0.5, a: Double(n - m), b: Double(m + 1)))
    }

    // MARK: - Incomplete beta

    /// I_x(a, b), the regularized incomplete beta function, by the continued fraction of
    /// Numerical Recipes §6.4 (modified Lentz), using the symmetry I_x(a, b) = 1 − I_{1−x}(b, a)
    /// where the fraction converges faster.
    public static func regularizedIncompleteBeta(_ x: Double, a: Double, b: Double) -> Double {
        precondition(a > 0 && b > 0, "need a, b > 0")
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let logFront = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x)
        if x < (a + 1) / (a + b + 2) {
            return exp(logFront) * continuedFraction(x, a: a, b: b) / a
        }
        return 1 - exp(logFront) * continuedFraction(1 - x, a: b, b: a) / b
    }

    /// The continued fraction of I_x(a, b); converges for x < (a + 1)/(a + b + 2) in
    /// O(√max(a, b)) terms.
    static func continuedFraction(_ x: Double, a: Double, b: Double) -> Double {
        let tiny = 1e-300, epsilon = 1e-16
        let qab = a + b, qap = a + 1, qam = a - 1
        var c = 1.0, d = 1 - qab * x / qap
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1...100_000 {
            let m = Double(m), m2 = 2 * m
            var aa = m * (b - m) * x / ((qam + m2) * (a + m2))
            d = 1 + aa * d; if abs(d) < tiny { d = tiny }
            c = 1 + aa / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
            d = 1 + aa * d; if abs(d) < tiny { d = tiny }
            c = 1 + aa / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < epsilon { break }
        }
        return h
    }

    /// The p-quantile of Beta(a, b): the x with I_x(a, b) = p, by bisection (I_x is monotone
    /// in x, so 200 halvings reach the double-precision neighbour of the root without the
    /// failure modes of Newton steps near 0 and 1).
    public static func betaQuantile(_ p: Double, a: Double, b: Double) -> Double {
        precondition(p > 0 && p < 1, "need 0 < p < 1")
        var lo = 0.0, hi = 1.0
        for _ in 0..<200 {
            let mid = (lo + hi) / 2
            if mid == lo || mid == hi { break }
            if regularizedIncompleteBeta(mid, a: a, b: b) < p { lo = mid } else { hi = mid }
        }
        return (lo + hi) / 2
    }
}
