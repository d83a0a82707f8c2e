import Foundation
import Testing
import Engine
import TestSupport

/// `RandomSource.fillNormal` (the ziggurat behind randomized smoothing's noise) draws standard
/// normals: moments, tail frequencies across the ziggurat's layers and its tail start (r ≈ 3.44),
/// the Kolmogorov–Smirnov distance to Φ, and reproducibility per seed.
@Suite("Ziggurat normal fill", .computeBound)
struct NormalFillTests {
    static func draw(_ n: Int, seed: UInt64) -> [Float] {
        var rng = RandomSource(seed: seed)
        var out = [Float](repeating: 0, count: n)
        let zeros = [Float](repeating: 0, count: n)
        out.withUnsafeMutableBufferPointer { o in
            zeros.withUnsafeBufferPointer { rng.fillNormal(o.baseAddress!, count: n, adding: $0.baseAddress!, scale: 1) }
        }
        return out
    }

    static func phi(_ x: Double) -> Double { 0.5 * erfc(-x / 2.squareRoot()) }

    @Test func momentsAndTails_matchTheStandardNormal() {
        let n = 1_000_000
        let z = Self.draw(n, seed: 2026).map(Double.init)
        let mean = z.reduce(0, +) / Double(n)
        let variance = z.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)
        let fourth = z.map { $0 * $0 * $0 * $0 }.reduce(0, +) / Double(n)
        // 5 standard errors: mean 1/√n, variance √(2/n), fourth moment √(96/n).
        #expect(abs(mean) < 5 / Double(n).squareRoot())
        #expect(abs(variance - 1) < 5 * (2 / Double(n)).squareRoot())
        #expect(abs(fourth - 3) < 5 * (96 / Double(n)).squareRoot())
        for t in [0.5, 1, 2, 3, 3.442_619_855_899, 4] {
            let p = 2 * (1 - Self.phi(t))
            let observed = Double(z.filter { abs($0) > t }.count)
            let sd = (Double(n) * p * (1 - p)).squareRoot()
            #expect(abs(observed - Double(n) * p) < 5 * sd + 1, "P(|z| > \(t)): \(observed / Double(n)) against \(p)")
        }
        #expect(z.filter { $0 > 3.5 }.count > 0 && z.filter { $0 < -3.5 }.count > 0, "both tails reached")
    }

    @Test func kolmogorovSmirnovDistance_isSmall() {
        let n = 200_000
        let z = Self.draw(n, seed: 7).map(Double.init).sorted()
        var d = 0.0
        for (i, x) in z.enumerated() {
            let c = Self.phi(x)
            d = max(d, abs(c - Double(i) / Double(n)), abs(c - Double(i + 1) / Double(n)))
        }
        // 1.95/√n is the 0.1 % critical value.
        #expect(d < 1.95 / Double(n).squareRoot(), "D = \(d)")
    }

    @Test func sameSeed_sameNumbers_andBaseAndScaleApply() {
        #expect(Self.draw(1000, seed: 5) == Self.draw(1000, seed: 5))
        #expect(Self.draw(1000, seed: 5) != Self.draw(1000, seed: 6))
        var rng = RandomSource(seed: 5)
        var out = [Float](repeating: 0, count: 1000)
        let base = (0..<1000).map { Float($0) }
        out.withUnsafeMutableBufferPointer { o in
            base.withUnsafeBufferPointer { rng.fillNormal(o.baseAddress!, count: 1000, adding: $0.baseAddress!, scale: 0.25) }
        }
        let z = Self.draw(1000, seed: 5)
        for i in 0..<1000 { #expect(out[i] == base[i] + 0.25 * z[i]) }
    }
}
