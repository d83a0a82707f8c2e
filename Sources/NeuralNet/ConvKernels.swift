import Foundation
import Engine

/// The three GEMM-lowered operations of a stride-1 "same" convolution on NHWC tensors,
/// shared by `Conv2D` (forward = `forward`) and `ConvTranspose2D` (forward = `backwardData`).
///
/// `weight` is the `[k·k·C, F]` matrix (HWIO order). Work is split over the cores with
/// Dispatch in blocks of `ComputeSettings.current.blockRows(rowLength:)` rows, each block one sgemm.
enum ConvKernels {
    /// `y[N,H,W,F] = activation(affine(im2col(x) · W + bias))`, max-pooled 2×2 to
    /// `[N,H/2,W/2,F]` with `epilogue.pool`. The bias, the affine map (an inference batch norm),
    /// the activation and the pooling are applied to each block right after its GEMM, while it
    /// is in cache. With pooling a block is whole pairs of image rows (H even), its GEMM writes
    /// to a per-block scratch buffer and only the pooled values reach the output: the full-size
    /// map is never stored and read back. With `stride` s > 1 (no pooling) only every s-th row
    /// and column is computed, `[N,⌈H/s⌉,⌈W/s⌉,F]`: a stride-s convolution with padding (k−1)/2.
    static func forward(_ x: Tensor, weight: Tensor, bias: Tensor?, epilogue: ConvEpilogue = ConvEpilogue(),
                        kernel k: Int, outChannels f: Int, stride s: Int = 1) -> Tensor {
        let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let pool = epilogue.pool
        precondition(!pool || (h % 2 == 0 && w >= 2), "pooling in a convolution needs an even height and width ≥ 2")
        precondition(!pool || s == 1, "a strided convolution does not pool")
        let kkc = k * k * c
        let (gh, gw) = ((h + s - 1) / s, (w + s - 1) / s)
        let totalRows = n * gh * gw
        // Blocks and chunks are made of units: one output pixel, or with pooling the 2·W pixels
        // of two image rows (one pooled output row of W/2 pixels).
        let unit = pool ? 2 * w : 1
        let blockUnits = max(1, ComputeSettings.current.blockRows(rowLength: kkc) / unit)
        let chunks = Parallel.chunkCount(flops: 2 * Double(totalRows) * Double(kkc) * Double(f), count: totalRows,
                                         maxChunks: ComputeSettings.current.parallelism)
        let (outH, outW) = pool ? (h / 2, w / 2) : (gh, gw)
        let outCount = n * outH * outW * f
        let biasValues = bias?.storage ?? []
        // Not zero-filled: the blocks cover every row and sgemm (beta = 0) writes every element,
        // so a zero fill would only be one more pass over the whole output.
        let out = [Float](unsafeUninitializedCapacity: outCount) { op, initialized in
            initialized = outCount
            guard outCount > 0 else { return }
            x.storage.withUnsafeBufferPointer { xp in
                weight.storage.withUnsafeBufferPointer { wp in
                    biasValues.withUnsafeBufferPointer { bp in
                        let xBase = xp.baseAddress!, wBase = wp.baseAddress!, oBase = op.baseAddress!
                        let bBase = bias == nil ? nil : bp.baseAddress
                        Parallel.forEachChunk(count: totalRows / unit, maxChunks: chunks) { units in
                            let blockRows = min(blockUnits, units.count) * unit
                            let col = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * kkc)
                            let scratch = pool ? UnsafeMutablePointer<Float>.allocate(capacity: blockRows * f) : nil
                            defer { col.deallocate(); scratch?.deallocate() }
                            var u = units.lowerBound
                            while u < units.upperBound {
                                let count = min(blockUnits, units.upperBound - u)
                                let (start, rows) = (u * unit, count * unit)
                                let y = scratch ?? oBase + start * f
                                Im2Col.forward(input: xBase, height: h, width: w, channels: c, kernel: k,
                                               stride: s, rowStart: start, rows: rows, col: col)
                                GEMM.sgemm(m: rows, n: f, k: kkc, a: col, lda: kkc, b: wBase, ldb: f, c: y, ldc: f)
                                FusedActivation.finish(y, rows: rows, channels: f, bias: bBase, affine: epilogue.affine,
                                                       activation: epilogue.activation)
                                if pool {
                                    MaxPool2.pool(y, rowPairs: count, width: w, channels: f, into: oBase + u * outW * f)
                                }
                                u += count
                            }
                        }
                    }
                }
            }
        }
        return Tensor(shape: [n, outH, outW, f], storage: out)
    }

    /// `dx[N,H,W,C] = col2im(dy · Wᵀ)`: the input gradient of `forward`, and the forward pass
    /// of a transposed convolution. See `scatter`. With `stride` s, `dy` is the strided output
    /// (`forward(…, stride: s)`) and `inputSize` the input's height and width.
    static func backwardData(_ dy: Tensor, weight: Tensor, kernel k: Int, inChannels c: Int, stride s: Int = 1,
                             inputSize: (height: Int, width: Int)? = nil) -> Tensor {
        scatter(dy, weight: weight, bias: nil, kernel: k, outChannels: c, stride: s, outputSize: inputSize)
    }

    /// `y[N,H,W,F] = activation(affine(col2im(x · Uᵀ) + bias))` for `U` `[k·k·F, C]`, `x` `[N,H,W,C]`:
    /// every input pixel's contribution to its k×k neighbourhood, added in place. The same
    /// convolutions as `forward` (with the kernel flipped, `flipped(_:kernel:)`), but its column
    /// block is `k·k·F` wide where im2col's is `k·k·C`: the cheaper form when F < C (a 64→3
    /// layer writes 27 floats per pixel here against 576 there, and its GEMM has 27 output
    /// columns instead of 3). Split over batch items (col2im of neighbouring rows of one image
    /// writes to the same pixels); each block holds whole images, so once its col2im is done
    /// its outputs are final and the bias, affine map and activation are applied while they are in cache.
    /// With `stride` s, input pixel (y, x) contributes around output pixel (s·y, s·x) of an
    /// `outputSize` map (the adjoint of the strided `forward`); stride 1 keeps the input's size.
    static func scatter(_ x: Tensor, weight u: Tensor, bias: Tensor?, epilogue: ConvEpilogue = ConvEpilogue(),
                        kernel k: Int, outChannels f: Int, stride s: Int = 1,
                        outputSize: (height: Int, width: Int)? = nil) -> Tensor {
        precondition(!epilogue.pool, "the col2im form does not pool")
        let (n, gh, gw, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (h, w) = outputSize ?? (gh, gw)
        precondition((h + s - 1) / s == gh && (w + s - 1) / s == gw, "scatter: output size does not match the stride")
        let kkf = k * k * f
        let pixels = gh * gw, outPixels = h * w
        let imagesPerBlock = max(1, ComputeSettings.current.blockRows(rowLength: kkf) / max(1, pixels))
        let chunks = Parallel.chunkCount(flops: 2 * Double(n * pixels) * Double(kkf) * Double(c), count: n,
                                         maxChunks: ComputeSettings.current.parallelism, minRows: 1)
        let biasValues = bias?.storage ?? []
        let out = [Float](unsafeUninitializedCapacity: n * outPixels * f) { op, initialized in
            initialized = n * outPixels * f
            guard n * outPixels * f > 0 else { return }
            x.storage.withUnsafeBufferPointer { xp in
                u.storage.withUnsafeBufferPointer { up in
                    biasValues.withUnsafeBufferPointer { bp in
                        let xBase = xp.baseAddress!, uBase = up.baseAddress!, oBase = op.baseAddress!
                        let bBase = bias == nil ? nil : bp.baseAddress
                        Parallel.forEachChunk(count: n, maxChunks: chunks) { items in
                            let col = UnsafeMutablePointer<Float>.allocate(capacity: min(imagesPerBlock, items.count) * pixels * kkf)
                            defer { col.deallocate() }
                            var item = items.lowerBound
                            while item < items.upperBound {
                                let images = min(imagesPerBlock, items.upperBound - item)
                                let (start, count) = (item * pixels, images * pixels)
                                let outStart = item * outPixels, outCount = images * outPixels
                                (oBase + outStart * f).initialize(repeating: 0, count: outCount * f)
                                if c > 0 {
                                    GEMM.sgemm(transB: true, m: count, n: kkf, k: c, a: xBase + start * c, lda: c,
                                               b: uBase, ldb: c, c: col, ldc: kkf)
                                    Im2Col.backward(col: col, height: h, width: w, channels: f, kernel: k,
                                                    stride: s, rowStart: start, rows: count, inputGrad: oBase)
                                }
                                FusedActivation.finish(oBase + outStart * f, rows: outCount, channels: f, bias: bBase,
                                                       affine: epilogue.affine, activation: epilogue.activation)
                                item += images
                            }
                        }
                    }
                }
            }
        }
        return Tensor(shape: [n, h, w, f], storage: out)
    }

    /// The matrix of the same convolution in the other form: `[k·k·A, B]` (taps, then `A`
    /// channels, rows; `B` columns) → `[k·k·B, A]`, the kernel turned by 180° and the channel
    /// axes swapped. `y[q] = Σ_d x[q+d]·W[d]` (im2col form) equals `Σ_d x[q−d]·W[−d]` (col2im
    /// form), so `forward(x, W)` = `scatter(x, flipped(W))` and `scatter(x, U)` =
    /// `forward(x, flipped(U))`; flipping twice gives the matrix back.
    static func flipped(_ m: Tensor, kernel k: Int) -> Tensor {
        let b = m.shape[1], a = m.shape[0] / (k * k)
        let src = m.storage
        let v = [Float](unsafeUninitializedCapacity: k * k * a * b) { out, initialized in
            for i in 0..<k {
                for j in 0..<k {
                    let s = ((k - 1 - i) * k + (k - 1 - j)) * a * b   // m[tap k-1-i, k-1-j] is [A, B]
                    let d = (i * k + j) * b * a                       // result[tap i, j] is [B, A]
                    for x in 0..<b { for y in 0..<a { out[d + x * a + y] = src[s + y * b + x] } }
                }
            }
            initialized = k * k * a * b
        }
        return Tensor(shape: [k * k * b, a], storage: v)
    }

    /// Whether the col2im form (`scatter`) moves less data than the im2col form (`forward`) for
    /// a convolution from `c` to `f` channels: its column block is `k·k·f` wide against `k·k·c`.
    static func prefersScatter(inChannels c: Int, outChannels f: Int) -> Bool { f < c }

    /// `dW[k·k·C, F] = im2col(x)ᵀ · dy`, summed over the batch (per-worker partial sums); with
    /// `stride` s, `dy` is the strided output and the im2col rows are the strided ones.
    static func backwardWeight(_ x: Tensor, _ dy: Tensor, kernel k: Int, stride s: Int = 1) -> Tensor {
        let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let f = dy.shape[3]
        let kkc = k * k * c
        let totalRows = n * ((h + s - 1) / s) * ((w + s - 1) / s)
        precondition(dy.count == totalRows * f, "backwardWeight: dy does not match the strided output")
        let block = ComputeSettings.current.convBlockRows
        let chunks = Parallel.chunkCount(count: totalRows, maxChunks: min(ComputeSettings.current.parallelism, max(1, totalRows / 256)))
        var partials = [Float](repeating: 0, count: chunks * kkc * f)
        x.storage.withUnsafeBufferPointer { xp in
            dy.storage.withUnsafeBufferPointer { dyp in
                partials.withUnsafeMutableBufferPointer { pp in
                    let xBase = xp.baseAddress!, dyBase = dyp.baseAddress!, pBase = pp.baseAddress!
                    Parallel.forEachChunk(count: totalRows, maxChunks: chunks) { chunk, rows in
                        let dw = pBase + chunk * kkc * f
                        let col = UnsafeMutablePointer<Float>.allocate(capacity: min(block, rows.count) * kkc)
                        defer { col.deallocate() }
                        var start = rows.lowerBound
                        while start < rows.upperBound {
                            let count = min(block, rows.upperBound - start)
                            Im2Col.forward(input: xBase, height: h, width: w, channels: c, kernel: k,
                                           stride: s, rowStart: start, rows: count, col: col)
                            GEMM.sgemm(transA: true, m: kkc, n: f, k: count, a: col, lda: kkc,
                                       b: dyBase + start * f, ldb: f, beta: 1, c: dw, ldc: f)
                            start += count
                        }
                    }
                }
            }
        }
        var total = Tensor(shape: [kkc, f], storage: Array(partials[0..<(kkc * f)]))
        for chunk in 1..<chunks {
            total.add(Tensor(shape: [kkc, f], storage: Array(partials[(chunk * kkc * f)..<((chunk + 1) * kkc * f)])))
        }
        return total
    }
}

extension Tensor {
    /// Adds a per-channel bias to the last dimension.
    mutating func addChannelBias(_ bias: Tensor) {
        let f = bias.count
        storage.withUnsafeMutableBufferPointer { y in
            bias.storage.withUnsafeBufferPointer { b in
                var i = 0
                while i < y.count {
                    for j in 0..<f { y[i + j] += b[j] }
                    i += f
                }
            }
        }
    }

    /// Sums over every dimension but the last (the bias gradient).
    func sumOverChannels() -> Tensor {
        let f = shape.last!
        var out = [Float](repeating: 0, count: f)
        storage.withUnsafeBufferPointer { y in
            var i = 0
            while i < y.count {
                for j in 0..<f { out[j] += y[i + j] }
                i += f
            }
        }
        return Tensor(shape: [f], storage: out)
    }
}
