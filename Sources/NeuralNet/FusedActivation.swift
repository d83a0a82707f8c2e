import Foundation
import Engine

/// An activation applied inside the layer before it (a convolution) instead of as a separate
/// layer: on each GEMM block while it is still in cache, together with the bias, rather than as
/// two more passes (and one more allocation) over the whole output. The arithmetic is the
/// activation layer's own, element for element, so fused and separate results are identical.
enum FusedActivation: Sendable, Equatable {
    case relu, sigmoid

    /// Adds `bias` (per channel, `f` channels, may be nil) to `rows` rows of `f` values at `p`
    /// and applies `activation` (may be nil), in one pass.
    static func finish(_ p: UnsafeMutablePointer<Float>, rows: Int, channels f: Int,
                       bias: UnsafePointer<Float>?, activation: FusedActivation?) {
        switch (bias, activation) {
        case (nil, nil): return
        case (let b?, nil): apply(p, rows: rows, channels: f, bias: b) { $0 }
        case (let b?, .relu?): apply(p, rows: rows, channels: f, bias: b) { $0 > 0 ? $0 : 0 }
        case (let b?, .sigmoid?): apply(p, rows: rows, channels: f, bias: b) { 1 / (1 + expf(-$0)) }
        case (nil, .relu?): apply(p, count: rows * f) { $0 > 0 ? $0 : 0 }
        case (nil, .sigmoid?): apply(p, count: rows * f) { 1 / (1 + expf(-$0)) }
        }
    }

    @inline(__always)
    private static func apply(_ p: UnsafeMutablePointer<Float>, rows: Int, channels f: Int,
                              bias b: UnsafePointer<Float>, _ g: (Float) -> Float) {
        var row = p
        for _ in 0..<rows {
            for j in 0..<f { row[j] = g(row[j] + b[j]) }
            row += f
        }
    }

    @inline(__always)
    private static func apply(_ p: UnsafeMutablePointer<Float>, count: Int, _ g: (Float) -> Float) {
        for i in 0..<count { p[i] = g(p[i]) }
    }
}

/// A layer that can take the activation after it into its own output pass (`Sequential` fuses
/// the pair). Its output is the activation's output, and the caches are the ones the two layers
/// would have recorded apart, so the backward pass is unchanged.
protocol ActivationFusing: Layer {
    func forward(_ x: Tensor, fusing activation: FusedActivation, context: inout ForwardContext)
        -> (output: Tensor, cache: LayerCache)
}

/// An activation layer that a preceding `ActivationFusing` layer can apply.
protocol FusableActivation: Layer {
    var fused: FusedActivation { get }
}

extension FusableActivation {
    /// What the layer records in forward, given its output.
    func cache(forOutput y: Tensor, context: ForwardContext) -> LayerCache {
        context.recordsCache ? LayerCache([y]) : .empty
    }
}

extension ReLU: FusableActivation { var fused: FusedActivation { .relu } }
extension Sigmoid: FusableActivation { var fused: FusedActivation { .sigmoid } }
