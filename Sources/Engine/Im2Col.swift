/// im2col / col2im for stride-1 "same" convolutions on NHWC tensors.
///
/// `im2col` turns an `[N, H, W, C]` input into a `[N·H·W, k·k·C]` matrix whose row for output
/// pixel (n, y, x) holds the k×k×C receptive field in (ky, kx, c) order, zero outside the
/// image. A convolution is then one GEMM with the `[k·k·C, F]` weight matrix. Each (ky, kx)
/// tap copies a contiguous run of C channels, which is why NHWC suits this lowering.
public enum Im2Col {
    /// Fills `col` (`rows · k·k·C` floats) for output rows `rowStart ..< rowStart + rows`,
    /// where row r is pixel (n, y, x) with r = (n·H + y)·W + x.
    public static func forward(
        input: UnsafePointer<Float>, height h: Int, width w: Int, channels c: Int, kernel k: Int,
        rowStart: Int, rows: Int, col: UnsafeMutablePointer<Float>
    ) {
        let pad = (k - 1) / 2
        let rowLength = k * k * c
        for r in 0..<rows {
            let pixel = rowStart + r
            let x = pixel % w
            let y = (pixel / w) % h
            let n = pixel / (w * h)
            let image = input + n * h * w * c
            var dst = col + r * rowLength
            for ky in 0..<k {
                let iy = y + ky - pad
                if iy < 0 || iy >= h {
                    dst.update(repeating: 0, count: k * c)
                    dst += k * c
                    continue
                }
                for kx in 0..<k {
                    let ix = x + kx - pad
                    if ix < 0 || ix >= w {
                        dst.update(repeating: 0, count: c)
                    } else {
                        dst.update(from: image + (iy * w + ix) * c, count: c)
                    }
                    dst += c
                }
            }
        }
    }

    /// Adjoint of `forward`: scatters `col` rows back and *adds* them into `inputGrad`.
    public static func backward(
        col: UnsafePointer<Float>, height h: Int, width w: Int, channels c: Int, kernel k: Int,
        rowStart: Int, rows: Int, inputGrad: UnsafeMutablePointer<Float>
    ) {
        let pad = (k - 1) / 2
        let rowLength = k * k * c
        for r in 0..<rows {
            let pixel = rowStart + r
            let x = pixel % w
            let y = (pixel / w) % h
            let n = pixel / (w * h)
            let image = inputGrad + n * h * w * c
            var src = col + r * rowLength
            for ky in 0..<k {
                let iy = y + ky - pad
                if iy < 0 || iy >= h { src += k * c; continue }
                for kx in 0..<k {
                    let ix = x + kx - pad
                    if ix >= 0 && ix < w {
                        let d = image + (iy * w + ix) * c
                        for ch in 0..<c { d[ch] += src[ch] }
                    }
                    src += c
                }
            }
        }
    }
}
