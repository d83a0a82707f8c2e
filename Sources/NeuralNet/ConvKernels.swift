import Engine

/// The three GEMM-lowered operations of a stride-1 "same" convolution on NHWC tensors,
/// shared by `Conv2D` (forward = `forward`) and `ConvTranspose2D` (forward = `backwardData`).
///
/// `weight` is the `[k·k·C, F]` matrix (HWIO order). Work is split over the cores with
/// Dispatch in blocks of `ComputeSettings.current.convBlockRows` im2col rows, each block one sgemm.
enum ConvKernels {
    /// `y[N,H,W,F] = im2col(x) · W (+ bias)`.
    static func forward(_ x: Tensor, weight: Tensor, bias: Tensor?, kernel k: Int, outChannels f: Int) -> Tensor {
        let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let kkc = k * k * c
        let totalRows = n * h * w
        let block = ComputeSettings.current.convBlockRows
        let chunks = Parallel.chunkCount(flops: 2 * Double(totalRows) * Double(kkc) * Double(f), count: totalRows,
                                         maxChunks: ComputeSettings.current.parallelism)
        // Not zero-filled: the blocks cover every row and sgemm (beta = 0) writes every element,
        // so a zero fill would only be one more pass over the whole output.
        let out = [Float](unsafeUninitializedCapacity: totalRows * f) { op, initialized in
            initialized = totalRows * f
            guard totalRows * f > 0 else { return }
            x.storage.withUnsafeBufferPointer { xp in
                weight.storage.withUnsafeBufferPointer { wp in
                    let xBase = xp.baseAddress!, wBase = wp.baseAddress!, oBase = op.baseAddress!
                    Parallel.forEachChunk(count: totalRows, maxChunks: chunks) { rows in
                        let col = UnsafeMutablePointer<Float>.allocate(capacity: min(block, rows.count) * kkc)
                        defer { col.deallocate() }
                        var start = rows.lowerBound
                        while start < rows.upperBound {
                            let count = min(block, rows.upperBound - start)
                            Im2Col.forward(input: xBase, height: h, width: w, channels: c, kernel: k,
                                           rowStart: start, rows: count, col: col)
                            GEMM.sgemm(m: count, n: f, k: kkc, a: col, lda: kkc, b: wBase, ldb: f,
                                       c: oBase + start * f, ldc: f)
                            start += count
                        }
                    }
                }
            }
        }
        var y = Tensor(shape: [n, h, w, f], storage: out)
        if let bias { y.addChannelBias(bias) }
        return y
    }

    /// `dx[N,H,W,C] = col2im(dy · Wᵀ)`: the input gradient of `forward`, and the forward pass
    /// of a transposed convolution. Split over batch items, since col2im of neighbouring rows
    /// of one image writes to the same pixels.
    static func backwardData(_ dy: Tensor, weight: Tensor, kernel k: Int, inChannels c: Int) -> Tensor {
        let (n, h, w, f) = (dy.shape[0], dy.shape[1], dy.shape[2], dy.shape[3])
        let kkc = k * k * c
        var dx = [Float](repeating: 0, count: n * h * w * c)
        let block = ComputeSettings.current.convBlockRows
        dy.storage.withUnsafeBufferPointer { dyp in
            weight.storage.withUnsafeBufferPointer { wp in
                dx.withUnsafeMutableBufferPointer { dxp in
                    let dyBase = dyp.baseAddress!, wBase = wp.baseAddress!, dxBase = dxp.baseAddress!
                    Parallel.forEachChunk(count: n, maxChunks: ComputeSettings.current.parallelism) { items in
                        let rows = (items.lowerBound * h * w)..<(items.upperBound * h * w)
                        let col = UnsafeMutablePointer<Float>.allocate(capacity: min(block, rows.count) * kkc)
                        defer { col.deallocate() }
                        var start = rows.lowerBound
                        while start < rows.upperBound {
                            let count = min(block, rows.upperBound - start)
                            GEMM.sgemm(transB: true, m: count, n: kkc, k: f, a: dyBase + start * f, lda: f,
                                       b: wBase, ldb: f, c: col, ldc: kkc)
                            Im2Col.backward(col: col, height: h, width: w, channels: c, kernel: k,
                                            rowStart: start, rows: count, inputGrad: dxBase)
                            start += count
                        }
                    }
                }
            }
        }
        return Tensor(shape: [n, h, w, c], storage: dx)
    }

    /// `dW[k·k·C, F] = im2col(x)ᵀ · dy`, summed over the batch (per-worker partial sums).
    static func backwardWeight(_ x: Tensor, _ dy: Tensor, kernel k: Int) -> Tensor {
        let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let f = dy.shape[3]
        let kkc = k * k * c
        let totalRows = n * h * w
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
                                           rowStart: start, rows: count, col: col)
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
