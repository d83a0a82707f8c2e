import Foundation
import Engine

/// An activation applied inside the layer before it (a convolution) instead of as a separate
/// layer: on each GEMM block while it is still in cache, together with the bias, rather than as
/// two more passes (and one more allocation) over the whole output. The arithmetic is the
/// activation layer's own, element for element, so fused and separate results are identical.
enum FusedActivation: Sendable, Equatable {
    case relu, sigmoid

    /// Adds `bias` (per channel, `f` channels, may be nil) to `rows` rows of `f` values at `p`,
    /// then applies `affine` (an inference batch norm, may be nil) and `activation` (may be
    /// nil), in one pass.
    static func finish(_ p: UnsafeMutablePointer<Float>, rows: Int, channels f: Int,
                       bias: UnsafePointer<Float>?, affine: ChannelAffine? = nil, activation: FusedActivation?) {
        if let affine {
            precondition(affine.scale.count == f && affine.shift.count == f, "affine map has the wrong channel count")
            affine.scale.withUnsafeBufferPointer { s in
                affine.shift.withUnsafeBufferPointer { t in
                    let (s, t) = (s.baseAddress!, t.baseAddress!)
                    switch activation {
                    case nil: apply(p, rows: rows, channels: f, bias: bias, scale: s, shift: t) { $0 }
                    case .relu?: apply(p, rows: rows, channels: f, bias: bias, scale: s, shift: t) { $0 > 0 ? $0 : 0 }
                    case .sigmoid?: apply(p, rows: rows, channels: f, bias: bias, scale: s, shift: t) { 1 / (1 + expf(-$0)) }
                    }
                }
            }
            return
        }
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

    /// `g((x + b)·s + t)`: the bias rounded first, then the batch norm's multiply and add, each
    /// rounded, as the separate layers compute them (`BatchNorm.forward` without caches).
    @inline(__always)
    private static func apply(_ p: UnsafeMutablePointer<Float>, rows: Int, channels f: Int, bias: UnsafePointer<Float>?,
                              scale s: UnsafePointer<Float>, shift t: UnsafePointer<Float>, _ g: (Float) -> Float) {
        var row = p
        if let b = bias {
            for _ in 0..<rows {
                for j in 0..<f { row[j] = g((row[j] + b[j]) * s[j] + t[j]) }
                row += f
            }
        } else {
            for _ in 0..<rows {
                for j in 0..<f { row[j] = g(row[j] * s[j] + t[j]) }
                row += f
            }
        }
    }

    @inline(__always)
    private static func apply(_ p: UnsafeMutablePointer<Float>, count: Int, _ g: (Float) -> Float) {
        for i in 0..<count { p[i] = g(p[i]) }
    }
}

/// A per-channel affine map `y = x·scale + shift` over the last dimension: batch norm with fixed
/// statistics (`BatchNorm.inferenceAffine`), which a convolution before it can apply to each
/// GEMM block in cache (`Sequential` fuses conv → batch norm → activation at inference).
struct ChannelAffine: Sendable, Equatable {
    let scale: [Float]
    let shift: [Float]

    /// `scale = γ·invStd`, `shift = β − μ·scale`: `γ·(x − μ)·invStd + β` as one multiply and add.
    init(gamma: [Float], beta: [Float], mean: [Float], invStd: [Float]) {
        let c = gamma.count
        let scale = (0..<c).map { gamma[$0] * invStd[$0] }
        self.scale = scale
        shift = (0..<c).map { beta[$0] - mean[$0] * scale[$0] }
    }
}

/// What a convolution applies to each of its output blocks while it is in cache, instead of
/// the separate layers after it: the activation; at inference without caches also a batch
/// norm before it (`affine`) and a 2×2 max pooling after it (`pool`, which needs the im2col
/// form and an even height: `ActivationFusing.canPool`).
struct ConvEpilogue: Sendable, Equatable {
    var affine: ChannelAffine? = nil
    var activation: FusedActivation? = nil
    var pool = false
}

/// A layer that can take the activation after it (and, at inference, a batch norm between them
/// and a max pooling after them) into its own output pass (`Sequential` fuses them). Its output
/// is the last fused layer's output, and the caches are the ones the layers would have recorded
/// apart (batch norm and pooling are only fused without caches), so backward is unchanged.
protocol ActivationFusing: Layer {
    func forward(_ x: Tensor, fusing epilogue: ConvEpilogue, context: inout ForwardContext)
        -> (output: Tensor, cache: LayerCache)
    /// Whether `forward` can apply `epilogue.pool` to an input of this shape.
    func canPool(inputShape: [Int]) -> Bool
}

extension ActivationFusing {
    func forward(_ x: Tensor, fusing activation: FusedActivation, context: inout ForwardContext)
        -> (output: Tensor, cache: LayerCache) {
        forward(x, fusing: ConvEpilogue(activation: activation), context: &context)
    }
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
