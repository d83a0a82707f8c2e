import Testing
@testable import Engine

/// im2col / col2im with stride 2 (the downsampling convolutions of residual networks): the
/// strided rows are every second row and column of the stride-1 im2col, started anywhere
/// (blocks begin mid-image), and col2im stays the adjoint.
@Suite("strided im2col")
struct StridedIm2ColTests {
    static func im2col(_ x: [Float], n: Int, h: Int, w: Int, c: Int, k: Int, stride: Int, rowStart: Int, rows: Int) -> [Float] {
        var col = [Float](repeating: -1, count: rows * k * k * c)
        x.withUnsafeBufferPointer { xp in
            col.withUnsafeMutableBufferPointer { cp in
                Im2Col.forward(input: xp.baseAddress!, height: h, width: w, channels: c, kernel: k, stride: stride,
                               rowStart: rowStart, rows: rows, col: cp.baseAddress!)
            }
        }
        return col
    }

    @Test(arguments: [(6, 6, 3), (5, 7, 3), (7, 4, 1), (9, 9, 5)])
    func stride2Rows_areTheEvenPixelsOfStride1(size: (Int, Int, Int)) {
        let (h, w, k) = size
        let (n, c) = (2, 3)
        var rng = RandomSource(seed: 5)
        let x = (0..<(n * h * w * c)).map { _ in rng.nextUniform() }
        let (oh, ow) = ((h + 1) / 2, (w + 1) / 2)
        let full = Self.im2col(x, n: n, h: h, w: w, c: c, k: k, stride: 1, rowStart: 0, rows: n * h * w)
        let row = k * k * c
        // Whole grid, then a block that starts mid-image and crosses into the next image.
        for (start, rows) in [(0, n * oh * ow), (ow + 1, oh * ow)] {
            let strided = Self.im2col(x, n: n, h: h, w: w, c: c, k: k, stride: 2, rowStart: start, rows: rows)
            for r in 0..<rows {
                let q = start + r
                let (b, oy, ox) = (q / (oh * ow), (q / ow) % oh, q % ow)
                let source = (b * h + 2 * oy) * w + 2 * ox
                #expect(Array(strided[(r * row)..<((r + 1) * row)]) == Array(full[(source * row)..<((source + 1) * row)]))
            }
        }
    }

    @Test func stride2Col2im_isAdjointOfIm2col() {
        var rng = RandomSource(seed: 3)
        let (n, h, w, c, k) = (2, 5, 6, 3, 3)
        let rows = n * 3 * 3
        let x = (0..<(n * h * w * c)).map { _ in rng.nextUniform() - 0.5 }
        let y = (0..<(rows * k * k * c)).map { _ in rng.nextUniform() - 0.5 }
        let col = Self.im2col(x, n: n, h: h, w: w, c: c, k: k, stride: 2, rowStart: 0, rows: rows)
        var back = [Float](repeating: 0, count: x.count)
        y.withUnsafeBufferPointer { yp in
            back.withUnsafeMutableBufferPointer { bp in
                Im2Col.backward(col: yp.baseAddress!, height: h, width: w, channels: c, kernel: k, stride: 2, rowStart: 0,
                                rows: rows, inputGrad: bp.baseAddress!)
            }
        }
        let lhs = zip(col, y).reduce(0.0) { $0 + Double($1.0 * $1.1) }
        let rhs = zip(x, back).reduce(0.0) { $0 + Double($1.0 * $1.1) }
        #expect(abs(lhs - rhs) < 1e-4)
    }
}
