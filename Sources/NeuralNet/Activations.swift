import Foundation
import Engine

/// `y = max(0, x)`; backward passes the gradient where `x > 0`.
public final class ReLU: Layer {
    public init() {}
    public var parameters: [Parameter] { [] }
    public var spec: LayerSpec { .relu }
    public func outputShape(for s: [Int]) throws(NeuralNetError) -> [Int] { s }

    public func forward(_ x: Tensor, context: inout ForwardContext) -> (output: Tensor, cache: LayerCache) {
        let y = Self.elementwise(x, x, gate: false)
        return (y, context.recordsCache ? LayerCache([y]) : .empty)
    }

    public func backward(_ dy: Tensor, cache: LayerCache, gradients: GradientStore?) -> Tensor {
        Self.elementwise(dy, cache.tensors[0], gate: true)
    }

    /// `max(0, a)` (`gate` false) or `b > 0 ? a : 0` (`gate` true) into fresh storage, split over
    /// the cores for a batch's feature maps (`BatchNorm.elementwiseChunks`). Two plain loops
    /// (no closure per element), so the compiler vectorises them.
    static func elementwise(_ a: Tensor, _ b: Tensor, gate: Bool) -> Tensor {
        precondition(a.count == b.count, "relu: \(a.shape) and \(b.shape) differ in size")
        let n = a.count
        let chunks = BatchNorm.elementwiseChunks(count: n, rows: n / 16)
        let out = [Float](unsafeUninitializedCapacity: n) { buffer, initialized in
            initialized = n
            guard n > 0 else { return }
            let o = buffer.baseAddress!
            a.storage.withUnsafeBufferPointer { ap in
                b.storage.withUnsafeBufferPointer { bp in
                    let (aBase, bBase) = (ap.baseAddress!, bp.baseAddress!)
                    Parallel.forEachChunk(count: n, maxChunks: chunks) { range in
                        if gate {
                            for i in range { let (g, y) = (aBase[i], bBase[i]); o[i] = y > 0 ? g : 0 }
                        } else {
                            for i in range { let v = aBase[i]; o[i] = v > 0 ? v : 0 }
                        }
                    }
                }
            }
        }
        return Tensor(shape: a.shape, storage: out)
    }
}

/// `y = 1 / (1 + e^-x)`; backward `dx = dy · y · (1 - y)`.
public final class Sigmoid: Layer {
    public init() {}
    public var parameters: [Parameter] { [] }
    public var spec: LayerSpec { .sigmoid }
    public func outputShape(for s: [Int]) throws(NeuralNetError) -> [Int] { s }

    public func forward(_ x: Tensor, context: inout ForwardContext) -> (output: Tensor, cache: LayerCache) {
        let y = x.map { 1 / (1 + expf(-$0)) }
        return (y, context.recordsCache ? LayerCache([y]) : .empty)
    }

    public func backward(_ dy: Tensor, cache: LayerCache, gradients: GradientStore?) -> Tensor {
        dy.zipMap(cache.tensors[0]) { g, y in g * y * (1 - y) }
    }
}

/// Row-wise softmax over the last dimension of `[N, classes]`. Classifiers end in logits and
/// leave softmax to the loss (numerically better); this layer exists for inference heads.
public final class Softmax: Layer {
    public init() {}
    public var parameters: [Parameter] { [] }
    public var spec: LayerSpec { .softmax }
    public func outputShape(for s: [Int]) throws(NeuralNetError) -> [Int] { s }

    public func forward(_ x: Tensor, context: inout ForwardContext) -> (output: Tensor, cache: LayerCache) {
        let y = Softmax.apply(x)
        return (y, context.recordsCache ? LayerCache([y]) : .empty)
    }

    public func backward(_ dy: Tensor, cache: LayerCache, gradients: GradientStore?) -> Tensor {
        let y = cache.tensors[0]
        let c = y.shape.last!
        var dx = dy
        for row in 0..<(y.count / c) {
            var dot: Float = 0
            for j in 0..<c { dot += dy.storage[row * c + j] * y.storage[row * c + j] }
            for j in 0..<c { dx.storage[row * c + j] = y.storage[row * c + j] * (dy.storage[row * c + j] - dot) }
        }
        return dx
    }

    /// Numerically stable softmax of each row.
    public static func apply(_ x: Tensor) -> Tensor {
        let c = x.shape.last!
        var y = x
        y.storage.withUnsafeMutableBufferPointer { p in
            for row in 0..<(p.count / c) {
                let base = row * c
                var m = -Float.infinity
                for j in 0..<c { m = max(m, p[base + j]) }
                var s: Float = 0
                for j in 0..<c { p[base + j] = expf(p[base + j] - m); s += p[base + j] }
                for j in 0..<c { p[base + j] /= s }
            }
        }
        return y
    }
}
