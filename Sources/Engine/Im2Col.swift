/// im2col / col2im for stride-1 "same" convolutions on NHWC tensors.
///
/// `im2col` turns an `[N, H, W, C]` input into a `[N·H·W, k·k·C]` matrix whose row for output
/// pixel (n, y, x) holds the k×k×C receptive field in (ky, kx, c) order, zero outside the
/// image. A convolution is then one GEMM with the `[k·k·C, F]` weight matrix. In NHWC the k taps
/// of one kernel row (ky) are k·C *contiguous* floats of the input, so each kernel row is one
/// copy of the in-image part plus zeros for the taps that fall off the left/right edge. (Copying
/// tap by tap cost one `memcpy` call per C floats: with C = 1 or 3 the call overhead, not the
/// data, was the cost, and im2col took several times longer than the GEMM.)
public enum Im2Col {
    /// Fills `col` (`rows · k·k·C` floats) for output rows `rowStart ..< rowStart + rows`,
    /// where row r is output pixel (n, y, x) with r = (n·H' + y)·W' + x. With `stride` s the
    /// output grid is H' = ⌈H/s⌉ × W' = ⌈W/s⌉ and pixel (y, x) is centred on input (s·y, s·x):
    /// the rows of a stride-s convolution with padding (k−1)/2, which equal every s-th row and
    /// column of the stride-1 im2col (a "same" convolution followed by subsampling).
    public static func forward(
        input: UnsafePointer<Float>, height h: Int, width w: Int, channels c: Int, kernel k: Int,
        stride s: Int = 1, rowStart: Int, rows: Int, col: UnsafeMutablePointer<Float>
    ) {
        let pad = (k - 1) / 2
        let rowLength = k * k * c
        let kc = k * c
        guard rows > 0 else { return }
        let (oh, ow) = ((h + s - 1) / s, (w + s - 1) / s)
        var ox = rowStart % ow
        var oy = (rowStart / ow) % oh
        var image = input + (rowStart / (ow * oh)) * h * w * c
        for r in 0..<rows {
            var dst = col + r * rowLength
            let (x, y) = (s * ox, s * oy)
            // Taps kx in lo..<hi are inside the image horizontally.
            let lo = max(0, pad - x), hi = min(k, w - x + pad)
            for ky in 0..<k {
                let iy = y + ky - pad
                if iy < 0 || iy >= h || lo >= hi {
                    fill(dst, count: kc)
                } else {
                    if lo > 0 { fill(dst, count: lo * c) }
                    copy(dst + lo * c, from: image + (iy * w + x - pad + lo) * c, count: (hi - lo) * c)
                    if hi < k { fill(dst + hi * c, count: (k - hi) * c) }
                }
                dst += kc
            }
            // Next pixel: (n, y, x) → (n, y, x+1), wrapping rows and images.
            ox += 1
            if ox == ow {
                ox = 0
                oy += 1
                if oy == oh { oy = 0; image += h * w * c }
            }
        }
    }

    /// Adjoint of `forward` (same `stride`): scatters `col` rows back and *adds* them into
    /// `inputGrad` (`[N, H, W, C]`, the input's size).
    public static func backward(
        col: UnsafePointer<Float>, height h: Int, width w: Int, channels c: Int, kernel k: Int,
        stride s: Int = 1, rowStart: Int, rows: Int, inputGrad: UnsafeMutablePointer<Float>
    ) {
        let pad = (k - 1) / 2
        let rowLength = k * k * c
        let kc = k * c
        guard rows > 0 else { return }
        let (oh, ow) = ((h + s - 1) / s, (w + s - 1) / s)
        var ox = rowStart % ow
        var oy = (rowStart / ow) % oh
        var image = inputGrad + (rowStart / (ow * oh)) * h * w * c
        for r in 0..<rows {
            var src = col + r * rowLength
            let (x, y) = (s * ox, s * oy)
            let lo = max(0, pad - x), hi = min(k, w - x + pad)
            if lo < hi {
                for ky in 0..<k {
                    let iy = y + ky - pad
                    if iy >= 0 && iy < h {
                        add(image + (iy * w + x - pad + lo) * c, src + lo * c, count: (hi - lo) * c)
                    }
                    src += kc
                }
            }
            ox += 1
            if ox == ow {
                ox = 0
                oy += 1
                if oy == oh { oy = 0; image += h * w * c }
            }
        }
    }

    // Short runs (C = 1 or 3 gives 3–15 floats) are copied inline: a libc call per run
    // costs more than the run itself.
    @inline(__always)
    static func copy(_ dst: UnsafeMutablePointer<Float>, from src: UnsafePointer<Float>, count: Int) {
        if count >= 64 {
            dst.update(from: src, count: count)
        } else {
            for i in 0..<count { dst[i] = src[i] }
        }
    }

    @inline(__always)
    static func fill(_ dst: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { dst[i] = 0 }
    }

    @inline(__always)
    static func add(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { dst[i] += src[i] }
    }
}
