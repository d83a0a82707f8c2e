import Testing
@testable import Certification

/// Reference values from scipy 1.17.1, computed with the calls quoted beside each table.
struct StatisticsTests {
    // scipy.stats.beta.ppf(alpha, k, n - k + 1)
    static let clopperPearson: [(k: Int, n: Int, alpha: Double, lower: Double)] = [
        (1000, 1000, 0.001, 0.9931160484209338),
        (990, 1000, 0.001, 0.9760361871553114),
        (500, 1000, 0.001, 0.45077105398478234),
        (9990, 10000, 0.001, 0.9975883080325683),
        (10000, 10000, 0.001, 0.9993094630025899),
        (100000, 100000, 0.001, 0.9999309248330094),
        (1, 10, 0.001, 0.00010004502852067863),
        (5, 10, 0.05, 0.2224411010081294),
        (7, 10, 0.001, 0.20463672209928987),
        (99, 100, 0.001, 0.9113731112960424),
        (9000, 10000, 0.001, 0.8904097336749064),
        (1, 1, 0.001, 0.001),
        (3, 1000, 0.001, 0.0001907059817085266),
    ]

    @Test func clopperPearsonLower_matchesScipyBetaPPF() {
        for c in Self.clopperPearson {
            let got = BinomialStatistics.clopperPearsonLower(successes: c.k, trials: c.n, alpha: c.alpha)
            #expect(abs(got - c.lower) <= 1e-10 * max(1, c.lower), "k=\(c.k) n=\(c.n): \(got) vs \(c.lower)")
        }
        #expect(BinomialStatistics.clopperPearsonLower(successes: 0, trials: 100, alpha: 0.001) == 0)
    }

    @Test func betaQuantile_strictlyInteriorCase_matchesScipy() {
        // k < n goes through bisection on the continued fraction, not the closed form.
        let got = BinomialStatistics.betaQuantile(0.001, a: 99_990, b: 11)
        // scipy.stats.beta.ppf(0.001, 99990, 11)
        #expect(abs(got - 0.9997586773435911) < 1e-12)
    }

    // scipy.special.betainc(a, b, x)
    @Test func regularizedIncompleteBeta_matchesScipyBetainc() {
        #expect(abs(BinomialStatistics.regularizedIncompleteBeta(0.4, a: 2.5, b: 3.5) - 0.4869041915261176) < 1e-13)
        #expect(abs(BinomialStatistics.regularizedIncompleteBeta(0.98, a: 990, b: 11) - 0.010236548159763346) < 1e-13)
        #expect(abs(BinomialStatistics.regularizedIncompleteBeta(0.1, a: 0.5, b: 0.5) - 0.20483276469913345) < 1e-13)
    }

    // scipy.stats.binomtest(k, n, 0.5).pvalue
    static let binomialTests: [(k: Int, n: Int, p: Double)] = [
        (60, 100, 0.05688793364098089), (55, 100, 0.36820161732669615), (500, 1000, 1.0),
        (0, 10, 0.001953125), (10, 10, 0.001953125), (7, 10, 0.34375), (510, 1000, 0.5479727459234766),
        (3, 4, 0.625), (52, 60, 5.205691473372798e-09), (13, 20, 0.26317596435546875),
    ]

    @Test func binomialTestHalf_matchesScipyBinomtest() {
        for c in Self.binomialTests {
            let got = BinomialStatistics.binomialTestHalf(successes: c.k, trials: c.n)
            #expect(abs(got - c.p) <= 1e-11 * max(1e-6, c.p) + 1e-15, "k=\(c.k) n=\(c.n): \(got) vs \(c.p)")
        }
    }

    // scipy.stats.norm.ppf(p)
    static let quantiles: [(p: Double, z: Double)] = [
        (0.5, 0), (0.975, 1.959963984540054), (0.999, 3.090232306167813), (1e-10, -6.361340902404056),
        (0.02425, -1.972961051311885), (0.01, -2.3263478740408408), (0.3, -0.5244005127080409),
        (0.9999999, 5.199337582290661), (1 - 1e-12, 7.0344869100478356), (0.8413447460685429, 1.0),
    ]

    @Test func normalInverseCDF_matchesScipyNormPPF() {
        for c in Self.quantiles {
            let got = NormalQuantile.inverseCDF(c.p)
            #expect(abs(got - c.z) <= 1e-9 * max(1, abs(c.z)), "p=\(c.p): \(got) vs \(c.z)")
        }
        #expect(NormalQuantile.inverseCDF(1) == .infinity)
        #expect(NormalQuantile.inverseCDF(0) == -.infinity)
    }

    @Test func normalInverseCDF_invertsCDF() {
        for z in stride(from: -8.0, through: 5.0, by: 0.37) {
            #expect(abs(NormalQuantile.inverseCDF(NormalQuantile.cdf(z)) - z) < 1e-7 * max(1, abs(z)))
        }
    }
}
