import Engine

/// Fully connected layer: `y = x · W + b`.
///
/// Shapes: input `[N, in]`, output `[N, out]`, weight `[in, out]` (as Keras), bias `[out]`.
public final class Dense: Layer {
    public let inFeatures: Int
    public let outFeatures: Int
    public let weight: Parameter
    public let bias: Parameter

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
                              n: outFeatures, into: &y.storage)
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

    /// `c[rows, n] = a[rows, k] · op(b)`, with the rows split over the cores.
    static func rowParallelGEMM(rows: Int, a: [Float], k: Int, b: [Float], transB: Bool, n: Int, into c: inout [Float]) {
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    let ab = ap.baseAddress!, bb = bp.baseAddress!, cb = cp.baseAddress!
                    let chunks = rows >= 16 ? ComputeSettings.current.parallelism : 1
                    Parallel.forEachChunk(count: rows, maxChunks: chunks) { r in
                        GEMM.sgemm(transB: transB, m: r.count, n: n, k: k, a: ab + r.lowerBound * k, lda: k,
                                   b: bb, ldb: transB ? k : n, c: cb + r.lowerBound * n, ldc: n)
                    }
                }
            }
        }
    }
}
