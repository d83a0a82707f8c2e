import Foundation
import Engine

/// Batch normalisation over every dimension but the last (channels), for NHWC feature maps
/// and `[N, features]` vectors alike.
///
/// Training: `y = γ · (x - μ_B) / sqrt(σ²_B + ε) + β` with batch statistics, and running
/// statistics updated as `r ← m·r + (1-m)·batch`. Inference: the running statistics, so the
/// layer is a fixed per-channel affine map (and its input gradient is `dy · γ / sqrt(r_var + ε)`).
public final class BatchNorm: Layer {
    public let channels: Int
    public let momentum: Float
    public let epsilon: Float
    public let gamma: Parameter
    public let beta: Parameter
    public let runningMean: Parameter
    public let runningVariance: Parameter

    public init(channels: Int, momentum: Float = 0.9, epsilon: Float = 1e-3, name: String) {
        self.channels = channels
        self.momentum = momentum
        self.epsilon = epsilon
        gamma = Parameter(name: "\(name).gamma", value: Tensor(shape: [channels], repeating: 1))
        beta = Parameter(name: "\(name).beta", value: Tensor(shape: [channels]))
        runningMean = Parameter(name: "\(name).running_mean", value: Tensor(shape: [channels]))
        runningVariance = Parameter(name: "\(name).running_var", value: Tensor(shape: [channels], repeating: 1))
    }

    public var parameters: [Parameter] { [gamma, beta] }
    public var buffers: [Parameter] { [runningMean, runningVariance] }
    public var spec: LayerSpec { .batchNorm(channels: channels, momentum: momentum, epsilon: epsilon) }

    public func outputShape(for s: [Int]) throws(NeuralNetError) -> [Int] {
        guard s.last == channels else {
            throw .shapeMismatch(what: "batchnorm input channels", expected: [channels], got: [s.last ?? 0])
        }
        return s
    }

    public func forward(_ x: Tensor, context: inout ForwardContext) -> (output: Tensor, cache: LayerCache) {
        let c = channels
        let rows = x.count / c
        var mean = [Float](repeating: 0, count: c)
        var invStd = [Float](repeating: 0, count: c)
        if context.training {
            var sum = [Double](repeating: 0, count: c), sumSq = [Double](repeating: 0, count: c)
            x.storage.withUnsafeBufferPointer { p in
                for r in 0..<rows { for j in 0..<c { let v = Double(p[r * c + j]); sum[j] += v; sumSq[j] += v * v } }
            }
            for j in 0..<c {
                let m = sum[j] / Double(rows)
                let v = max(0, sumSq[j] / Double(rows) - m * m)
                mean[j] = Float(m)
                invStd[j] = Float(1 / (v + Double(epsilon)).squareRoot())
                let unbiased = Float(rows > 1 ? v * Double(rows) / Double(rows - 1) : v)
                runningMean.value.storage[j] = momentum * runningMean.value.storage[j] + (1 - momentum) * Float(m)
                runningVariance.value.storage[j] = momentum * runningVariance.value.storage[j] + (1 - momentum) * unbiased
            }
        } else {
            (mean, invStd) = runningStatistics
        }
        // One pass into fresh storage (no copies of x first); x̂ only when backward needs it.
        let g = gamma.value.storage, b = beta.value.storage
        let n = x.count
        var xhat: [Float] = []
        let y = [Float](unsafeUninitializedCapacity: n) { yp, initialized in
            x.storage.withUnsafeBufferPointer { xp in
                if context.recordsCache {
                    xhat = [Float](unsafeUninitializedCapacity: n) { xh, done in
                        for r in 0..<rows {
                            for j in 0..<c {
                                let v = (xp[r * c + j] - mean[j]) * invStd[j]
                                xh[r * c + j] = v
                                yp[r * c + j] = g[j] * v + b[j]
                            }
                        }
                        done = n
                    }
                } else {
                    let affine = ChannelAffine(gamma: g, beta: b, mean: mean, invStd: invStd)
                    let (scale, shift) = (affine.scale, affine.shift)
                    for r in 0..<rows {
                        for j in 0..<c { yp[r * c + j] = xp[r * c + j] * scale[j] + shift[j] }
                    }
                }
            }
            initialized = n
        }
        let output = Tensor(shape: x.shape, storage: y)
        guard context.recordsCache else { return (output, .empty) }
        let modeFlag: [Int32] = [context.training ? 1 : 0]
        return (output, LayerCache([Tensor(shape: x.shape, storage: xhat), Tensor(shape: [c], storage: invStd)], indices: modeFlag))
    }

    /// The running mean and `1 / sqrt(running variance + ε)`, per channel.
    private var runningStatistics: (mean: [Float], invStd: [Float]) {
        (runningMean.value.storage, runningVariance.value.storage.map { 1 / ($0 + epsilon).squareRoot() })
    }

    /// The inference map (running statistics) as `y = x·scale + shift`, computed as `forward`
    /// computes it without caches, so a convolution that applies it to its output blocks
    /// (`Sequential`'s conv → batch norm fusion) gives the same values bit for bit.
    var inferenceAffine: ChannelAffine {
        let (mean, invStd) = runningStatistics
        return ChannelAffine(gamma: gamma.value.storage, beta: beta.value.storage, mean: mean, invStd: invStd)
    }

    public func backward(_ dy: Tensor, cache: LayerCache, gradients: GradientStore?) -> Tensor {
        let c = channels
        let xhat = cache.tensors[0], invStd = cache.tensors[1].storage
        let training = cache.indices.first == 1
        let rows = dy.count / c
        var sumDy = [Float](repeating: 0, count: c), sumDyXhat = [Float](repeating: 0, count: c)
        for r in 0..<rows {
            for j in 0..<c {
                sumDy[j] += dy.storage[r * c + j]
                sumDyXhat[j] += dy.storage[r * c + j] * xhat.storage[r * c + j]
            }
        }
        gradients?.accumulate(Tensor(shape: [c], storage: sumDyXhat), for: gamma)
        gradients?.accumulate(Tensor(shape: [c], storage: sumDy), for: beta)
        // dx = a·dy + b + e·x̂ per channel. Training: a = γ·invStd, b = -γ·invStd·Σdy/M,
        // e = -γ·invStd·Σ(dy·x̂)/M. Inference (fixed affine map): a = γ·invStd, b = e = 0.
        let g = gamma.value.storage
        let m = Float(rows)
        let a = (0..<c).map { g[$0] * invStd[$0] }
        let bias = (0..<c).map { training ? -a[$0] * sumDy[$0] / m : 0 }
        let e = (0..<c).map { training ? -a[$0] * sumDyXhat[$0] / m : 0 }
        let out = [Float](unsafeUninitializedCapacity: dy.count) { d, initialized in
            dy.storage.withUnsafeBufferPointer { gp in
                xhat.storage.withUnsafeBufferPointer { xh in
                    for r in 0..<rows {
                        for j in 0..<c {
                            let i = r * c + j
                            d[i] = a[j] * gp[i] + bias[j] + e[j] * xh[i]
                        }
                    }
                }
            }
            initialized = dy.count
        }
        let dx = Tensor(shape: dy.shape, storage: out)
        return dx
    }
}
