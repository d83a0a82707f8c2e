import Foundation
import Engine

/// `y = max(0, x)`; backward passes the gradient where `x > 0`.
public final class ReLU: Layer {
    public init() {}
    public var parameters: [Parameter] { [] }
    public var spec: LayerSpec { .relu }
    public func outputShape(for s: [Int]) throws(NeuralNetError) -> [Int] { s }

    public func forward(_ x: Tensor, context: inout ForwardContext) -> (output: Tensor, cache: LayerCache) {
        let y = x.map { $0 > 0 ? $0 : 0 }
        return (y, context.recordsCache ? LayerCache([y]) : .empty)
    }

    public func backward(_ dy: Tensor, cache: LayerCache, gradients: GradientStore?) -> Tensor {
        dy.zipMap(cache.tensors[0]) { g, y in y > 0 ? g : 0 }
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
