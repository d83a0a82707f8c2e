import Engine
import Synchronization

/// Fully connected layer: `y = x · W + b`.
///
/// Shapes: input `[N, in]`, output `[N, out]`, weight `[in, out]` (as Keras), bias `[out]`.
public final class Dense: Layer {
    public let inFeatures: Int
    public let outFeatures: Int
    public let weight: Parameter
    public let bias: Parameter
    /// The float16 copy of `weight` for one- and two-row forward passes, with the weight
    /// generation it was made from (nil matrix: the weights do not fit float16).
    private let halfWeights = Mutex<(generation: UInt64, matrix: HalfPrecisionMatrix?)?>(nil)

    /// Layers with fewer weights stay float32 at batch 1: up to 1 MB of float32 stays in the
    /// caches between requests, so a float16 copy would change results for no time saved.
    static let halfPrecisionMinimumWeights = 1 << 18

    public init(inFeatures: Int, outFeatures: Int, name: String, rng: inout RandomSource) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        weight = Parameter(name: "\(name).weight", value: Initializers.glorotUniform(
            shape: [inFeatures, outFeatures], fanIn: inFeatures, fanOut: outFeatures, rng: &rng))
        bias = Parameter(name: "\(name).bias", value: Tensor(shape: [outFeatures]))
    }

    public var parameters: [Parameter] { [weight, bias] }
    public var spec: LayerSpec { .dense(inFeatures: inFeatures, outFeatures: outFeatures) }

    public func outputShape(for s: [Int]) throws(NeuralNetError) -> [Int] {
        guard s == [inFeatures] else { throw .shapeMismatch(what: "dense input", expected: [inFeatures], got: s) }
        return [outFeatures]
    }

    public func forward(_ x: Tensor, context: inout ForwardContext) -> (output: Tensor, cache: LayerCache) {
        let n = x.batchSize
        var y = Tensor(shape: [n, outFeatures])
        Dense.rowParallelGEMM(rows: n, a: x.storage, k: inFeatures, b: weight.value.storage, transB: false,
                              n: outFeatures, half: n <= Dense.matrixVectorRows ? halfPrecisionWeights() : nil,
                              into: &y.storage)
        y.addChannelBias(bias.value)
        return (y, context.recordsCache ? LayerCache([x]) : .empty)
    }

    public func backward(_ dy: Tensor, cache: LayerCache, gradients: GradientStore?) -> Tensor {
        let x = cache.tensors[0]
        let n = x.batchSize
        if let gradients {
            var dw = Tensor(shape: [inFeatures, outFeatures])
            x.storage.withUnsafeBufferPointer { xp in
                dy.storage.withUnsafeBufferPointer { dyp in
                    dw.storage.withUnsafeMutableBufferPointer { dwp in
                        let xb = xp.baseAddress!, dyb = dyp.baseAddress!, dwb = dwp.baseAddress!
                        // dW = xᵀ · dy, split over output columns so workers write disjoint parts.
                        Parallel.forEachChunk(count: outFeatures,
                                              maxChunks: outFeatures >= 64 ? ComputeSettings.current.parallelism : 1) { cols in
                            GEMM.sgemm(transA: true, m: inFeatures, n: cols.count, k: n, a: xb, lda: inFeatures,
                                       b: dyb + cols.lowerBound, ldb: outFeatures,
                                       c: dwb + cols.lowerBound, ldc: outFeatures)
                        }
                    }
                }
            }
            gradients.accumulate(dw, for: weight)
            gradients.accumulate(dy.sumOverChannels(), for: bias)
        }
        var dx = Tensor(shape: x.shape)
        Dense.rowParallelGEMM(rows: n, a: dy.storage, k: outFeatures, b: weight.value.storage, transB: true,
                              n: inFeatures, into: &dx.storage)
        return dx
    }

    /// `c[rows, n] = a[rows, k] · op(b)`, split over the cores: by rows for a batch, by output
    /// columns (in multiples of 16) for a few rows, where the product is bound by streaming the
    /// weights and each core then streams its share of them (MNIST's 3136×1024 layer is 12.8 MB
    /// per batch-1 request). One or two rows run as matrix-vector products (`GEMM.rowTimesMatrix`):
    /// sgemm would first copy all the weights into its packed layout. Splits never change a
    /// result; sgemv against sgemm changes the summation order (float rounding, ~1e-7 relative).
    /// Up to this many rows, one sgemv per row (streams the weights once per row) beats sgemm
    /// (copies them once into its packed layout, then reads that copy).
    static let matrixVectorRows = 2

    /// The float16 copy of the weights for a one- or two-row product, built on first use and
    /// again after the weights change; nil where `ComputeSettings.halfPrecisionWeights` is off,
    /// the layer is small, the CPU lacks F16C/AVX2/FMA or a weight is outside float16's range.
    func halfPrecisionWeights() -> HalfPrecisionMatrix? {
        guard ComputeSettings.current.halfPrecisionWeights, inFeatures * outFeatures >= Dense.halfPrecisionMinimumWeights,
              HalfPrecisionMatrix.isSupported else { return nil }
        let generation = weight.generation
        return halfWeights.withLock { cache in
            if let cache, cache.generation == generation { return cache.matrix }
            let matrix = weight.value.storage.withUnsafeBufferPointer {
                HalfPrecisionMatrix($0.baseAddress!, rows: inFeatures, columns: outFeatures)
            }
            cache = (generation, matrix)
            return matrix
        }
    }

    /// - Parameter half: a float16 copy of `b` (k×n, not transposed) to read instead of `b`
    ///   when `rows` ≤ `matrixVectorRows`.
    static func rowParallelGEMM(rows: Int, a: [Float], k: Int, b: [Float], transB: Bool, n: Int,
                                half: HalfPrecisionMatrix? = nil, into c: inout [Float]) {
        let flops = 2 * Double(rows) * Double(k) * Double(n)
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    let ab = ap.baseAddress!, bb = bp.baseAddress!, cb = cp.baseAddress!
                    let ldb = transB ? k : n
                    if rows >= 16 {
                        let chunks = Parallel.chunkCount(flops: flops, count: rows, maxChunks: ComputeSettings.current.parallelism,
                                                         minRows: 8)
                        Parallel.forEachChunk(count: rows, maxChunks: chunks) { r in
                            GEMM.sgemm(transB: transB, m: r.count, n: n, k: k, a: ab + r.lowerBound * k, lda: k,
                                       b: bb, ldb: ldb, c: cb + r.lowerBound * n, ldc: n)
                        }
                        return
                    }
                    let groups = (n + 15) / 16
                    let chunks = Parallel.chunkCount(flops: flops, count: groups, maxChunks: ComputeSettings.current.parallelism,
                                                     minRows: 4)
                    Parallel.forEachChunk(count: groups, maxChunks: chunks) { g in
                        let lo = g.lowerBound * 16, hi = min(n, g.upperBound * 16)
                        // Columns lo..<hi of op(b): column offset in b, or row offset when transposed.
                        let part = bb + (transB ? lo * ldb : lo)
                        if let half, !transB, rows <= Dense.matrixVectorRows {
                            // Groups of 16 columns are the copy's panels.
                            half.rowsTimesMatrix(count: rows, x: ab, ldx: k, panelRange: g, y: cb, ldy: n)
                        } else if rows <= Dense.matrixVectorRows {
                            for r in 0..<rows {
                                GEMM.rowTimesMatrix(transB: transB, n: hi - lo, k: k, x: ab + r * k, b: part, ldb: ldb,
                                                    y: cb + r * n + lo)
                            }
                        } else {
                            GEMM.sgemm(transB: transB, m: rows, n: hi - lo, k: k, a: ab, lda: k,
                                       b: part, ldb: ldb, c: cb + lo, ldc: n)
                        }
                    }
                }
            }
        }
    }
}
