/// A small, fast, seedable generator (xoshiro256**, seeded through SplitMix64) with the
/// distributions the engine needs. Deterministic for a given seed on every platform, so
/// training runs, purifier samples and attacks are reproducible.
public struct RandomSource: RandomNumberGenerator, Sendable {
    private var s0, s1, s2, s3: UInt64
    private var spareNormal: Float?

    public init(seed: UInt64) {
        var sm = seed
        func splitmix() -> UInt64 {
            sm &+= 0x9E37_79B9_7F4A_7C15
            var z = sm
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitmix(); s1 = splitmix(); s2 = splitmix(); s3 = splitmix()
    }

    /// A generator seeded from the system's entropy: the paper's "fresh randomness per request".
    public static func fresh() -> RandomSource {
        var g = SystemRandomNumberGenerator()
        return RandomSource(seed: g.next())
    }

    @inlinable static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    public mutating func next() -> UInt64 {
        let result = RandomSource.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = RandomSource.rotl(s3, 45)
        return result
    }

    /// Uniform in [0, 1).
    public mutating func nextUniform() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// Standard normal (Box–Muller, both values used).
    public mutating func nextNormal() -> Float {
        if let spare = spareNormal {
            spareNormal = nil
            return spare
        }
        var u1: Float
        repeat { u1 = nextUniform() } while u1 <= 1e-12
        let u2 = nextUniform()
        let r = (-2 * logf(u1)).squareRoot()
        spareNormal = r * sinf(2 * .pi * u2)
        return r * cosf(2 * .pi * u2)
    }

    /// Uniform integer in `0..<upperBound`.
    public mutating func nextInt(_ upperBound: Int) -> Int {
        Int.random(in: 0..<upperBound, using: &self)
    }

    /// A derived, independent generator (for parallel workers).
    public mutating func split() -> RandomSource { RandomSource(seed: next()) }
}

import Foundation
