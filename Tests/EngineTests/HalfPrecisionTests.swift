import Testing
import Engine
import TestSupport

/// The float16 conversions and the packed-panel matrix-vector kernel behind batch-1 dense
/// layers (`HalfPrecisionMatrix`).
@Suite("Float16 weights: conversions and kernel", .computeBound)
struct HalfPrecisionTests {
    /// Float → half on the edge values: signed zeros, infinities, NaN, the largest half, the
    /// overflow threshold, normal/subnormal boundaries and ties (to even).
    @Test func floatToHalf_edgeValues() {
        let cases: [(Float, UInt16)] = [
            (0, 0x0000), (-0.0, 0x8000), (1, 0x3c00), (-2, 0xc000), (0.5, 0x3800),
            (.infinity, 0x7c00), (-.infinity, 0xfc00),
            (65504, 0x7bff),                       // largest finite half
            (65519.99, 0x7bff),                    // just below the midpoint to infinity
            (65520, 0x7c00), (-65520, 0xfc00),     // the midpoint ties to even: infinity
            (1e10, 0x7c00), (.greatestFiniteMagnitude, 0x7c00),
            (0x1p-14, 0x0400),                     // smallest normal
            (0x1p-24, 0x0001),                     // smallest subnormal
            (0x1p-25, 0x0000),                     // half of it: tie to even, zero
            (0x1.8p-25, 0x0001),                   // above the tie: rounds up
            (0x1.8p-24, 0x0002),                   // 1.5 ulp subnormal: tie to even (2)
            (-0x1p-26, 0x8000),                    // underflow keeps the sign
            (.leastNonzeroMagnitude, 0x0000),      // float subnormal
            (0x1.ffcp-15, 0x0400),                 // tie of the largest subnormal (odd) and the smallest normal
            (1 + 0x1p-11, 0x3c00),                 // tie between 1 and 1+2⁻¹⁰: even (1)
            (1 + 0x1.8p-10, 0x3c02),               // tie between 1+2⁻¹⁰ and 1+2⁻⁹: even (1+2⁻⁹)
            (1 + 0x1p-11 + 0x1p-23, 0x3c01),       // just above the tie
            (2047, 0x67ff), (2049, 0x6800),        // 2049 ties to even: 2048
        ]
        for (value, bits) in cases {
            #expect(HalfPrecisionMatrix.halfBits(value) == bits, "\(value)")
        }
        let nan = HalfPrecisionMatrix.halfBits(.nan)
        #expect(nan & 0x7c00 == 0x7c00 && nan & 0x3ff != 0, "NaN stays NaN")
        #expect(HalfPrecisionMatrix.halfBits(.signalingNaN) & 0x200 != 0, "NaN comes out quiet")
    }

    /// Every one of the 65,536 half bit patterns: half → float → half is the identity (NaNs
    /// stay NaN), and the F16C array conversion gives the portable conversion's exact bits.
    @Test func halfToFloat_allPatternsRoundTrip() {
        let all = (0...0xffff).map { UInt16($0) }
        let vector = HalfPrecisionMatrix.floats(halfBits: all)
        for bits in all {
            let f = HalfPrecisionMatrix.float(halfBits: bits)
            if bits & 0x7c00 == 0x7c00 && bits & 0x3ff != 0 {
                #expect(f.isNaN)
                #expect(vector[Int(bits)].isNaN)
                continue
            }
            #expect(HalfPrecisionMatrix.halfBits(f) == bits)
            #expect(vector[Int(bits)].bitPattern == f.bitPattern, "pattern \(String(bits, radix: 16))")
        }
        #expect(HalfPrecisionMatrix.float(halfBits: 0x0001) == 0x1p-24)
        #expect(HalfPrecisionMatrix.float(halfBits: 0x03ff) == 0x1.ff8p-15)
        #expect(HalfPrecisionMatrix.float(halfBits: 0x7bff) == 65504)
        #expect(HalfPrecisionMatrix.float(halfBits: 0xfc00) == -.infinity)
    }

    /// Rounding to nearest: every float lands within half an ulp of float16 (2⁻¹¹ relative for
    /// normals, 2⁻²⁵ absolute for subnormals).
    @Test func floatToHalf_roundsToNearest() {
        var rng = RandomSource(seed: 11)
        for _ in 0..<20_000 {
            let v = (rng.nextUniform() - 0.5) * Float(1 << (rng.nextInt(30))) * 0x1p-20
            let back = HalfPrecisionMatrix.float(halfBits: HalfPrecisionMatrix.halfBits(v))
            #expect(abs(back - v) <= max(abs(v) * 0x1p-11, 0x1p-25), "\(v) → \(back)")
        }
    }

    /// The kernel against a double-precision product with the float16-rounded weights (which
    /// it must match to float32 summation error) and against the float32 weights (within the
    /// float16 rounding bound Σ|x·w|·2⁻¹¹), for one and two rows, ragged panels, k not a
    /// multiple of 4, and any split of the panels.
    @Test(arguments: [(1, 37, 5), (2, 3136, 1000), (1, 1024, 4096), (2, 7, 33)])
    func kernel_matchesReference(rows: Int, k: Int, n: Int) throws {
        var rng = RandomSource(seed: UInt64(k * 31 + n))
        let w = (0..<(k * n)).map { _ in rng.nextUniform() * 0.2 - 0.1 }
        let x = (0..<(rows * k)).map { _ in rng.nextUniform() * 4 - 2 }
        let matrix = try #require(w.withUnsafeBufferPointer { HalfPrecisionMatrix($0.baseAddress!, rows: k, columns: n) })
        let rounded = w.map { HalfPrecisionMatrix.float(halfBits: HalfPrecisionMatrix.halfBits($0)) }
        for splits in [1, 3] {
            var y = [Float](repeating: .nan, count: rows * n)
            let panels = matrix.panelCount
            for s in 0..<splits {
                let range = (panels * s / splits)..<(panels * (s + 1) / splits)
                x.withUnsafeBufferPointer { xp in
                    y.withUnsafeMutableBufferPointer { yp in
                        matrix.rowsTimesMatrix(count: rows, x: xp.baseAddress!, ldx: k, panelRange: range, y: yp.baseAddress!, ldy: n)
                    }
                }
            }
            for r in 0..<rows {
                for j in 0..<n {
                    var exactHalf = 0.0, exactFloat = 0.0, magnitude = 0.0
                    for p in 0..<k {
                        exactHalf += Double(x[r * k + p]) * Double(rounded[p * n + j])
                        exactFloat += Double(x[r * k + p]) * Double(w[p * n + j])
                        magnitude += abs(Double(x[r * k + p]) * Double(w[p * n + j]))
                    }
                    let got = Double(y[r * n + j])
                    #expect(abs(got - exactHalf) <= 1e-5 * magnitude + 1e-7, "row \(r) col \(j)")
                    #expect(abs(got - exactFloat) <= 0x1p-11 * magnitude + 1e-6, "row \(r) col \(j)")
                }
            }
        }
    }

    /// A weight beyond float16's range (65504) makes no copy: callers keep float32.
    @Test func outOfRangeWeights_makeNoCopy() {
        let w: [Float] = [1, 2, 70_000, 3]
        #expect(w.withUnsafeBufferPointer { HalfPrecisionMatrix($0.baseAddress!, rows: 2, columns: 2) } == nil)
        let ok: [Float] = [1, 2, 65504, -65504]
        #expect(ok.withUnsafeBufferPointer { HalfPrecisionMatrix($0.baseAddress!, rows: 2, columns: 2) } != nil)
    }
}
