import Testing
@testable import Engine

@Suite("im2col")
struct Im2ColTests {
    @Test func im2col_centreTap_isTheInputPixel() {
        let (h, w, c, k) = (3, 4, 2, 3)
        let x = (0..<(h * w * c)).map(Float.init)
        var col = [Float](repeating: -1, count: h * w * k * k * c)
        x.withUnsafeBufferPointer { xp in
            col.withUnsafeMutableBufferPointer { cp in
                Im2Col.forward(input: xp.baseAddress!, height: h, width: w, channels: c, kernel: k, rowStart: 0, rows: h * w,
                               col: cp.baseAddress!)
            }
        }
        let row = 1 * w + 2                      // pixel (1, 2)
        let centre = (1 * k + 1) * c             // tap (1, 1)
        #expect(col[row * k * k * c + centre] == x[(1 * w + 2) * c])
        #expect(col[0] == 0)                     // pixel (0,0), tap (0,0) is padding
        #expect(!col.contains(-1))
    }

    @Test func col2im_isAdjointOfIm2col() {
        var rng = RandomSource(seed: 3)
        let (n, h, w, c, k) = (2, 5, 4, 3, 5)
        let x = (0..<(n * h * w * c)).map { _ in rng.nextUniform() - 0.5 }
        let y = (0..<(n * h * w * k * k * c)).map { _ in rng.nextUniform() - 0.5 }
        var col = [Float](repeating: 0, count: y.count)
        var back = [Float](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { xp in
            col.withUnsafeMutableBufferPointer { cp in
                Im2Col.forward(input: xp.baseAddress!, height: h, width: w, channels: c, kernel: k, rowStart: 0, rows: n * h * w,
                               col: cp.baseAddress!)
            }
        }
        y.withUnsafeBufferPointer { yp in
            back.withUnsafeMutableBufferPointer { bp in
                Im2Col.backward(col: yp.baseAddress!, height: h, width: w, channels: c, kernel: k, rowStart: 0, rows: n * h * w,
                                inputGrad: bp.baseAddress!)
            }
        }
        let lhs = zip(col, y).reduce(0.0) { $0 + Double($1.0 * $1.1) }
        let rhs = zip(x, back).reduce(0.0) { $0 + Double($1.0 * $1.1) }
        #expect(abs(lhs - rhs) < 1e-4)
    }

    @Test func randomSource_isReproducible_andNormalHasUnitVariance() {
        var a = RandomSource(seed: 7), b = RandomSource(seed: 7)
        #expect((0..<5).map { _ in a.next() } == (0..<5).map { _ in b.next() })
        var g = RandomSource(seed: 1)
        let xs = (0..<20000).map { _ in Double(g.nextNormal()) }
        let mean = xs.reduce(0, +) / Double(xs.count)
        let variance = xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(xs.count)
        #expect(abs(mean) < 0.03)
        #expect(abs(variance - 1) < 0.05)
    }
}
