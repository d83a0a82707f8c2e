import Foundation
import Engine

/// A VAE: encoder → (μ, log σ²) heads → sampled z → decoder.
///
/// `z = μ + exp(logvar/2) · ε`, ε ~ N(0, I) clipped to [-5, 5] as in the paper's code.
/// The whole pipeline is differentiable, including the input gradient through the sampling
/// step for a fixed ε, which the adaptive (EOT) attacks use.
public final class VariationalAutoencoder: Sendable {
    public let encoder: Sequential
    public let meanHead: Dense
    public let logVarianceHead: Dense
    public let decoder: Sequential
    public static let noiseClip: Float = 5

    /// How z is chosen: a random sample (the defense's default) or the posterior mean.
    public enum Sampling: String, Sendable, Codable, CaseIterable {
        case sample, mean
    }

    public init(encoder: Sequential, meanHead: Dense, logVarianceHead: Dense, decoder: Sequential) throws(NeuralNetError) {
        guard encoder.outputShape == [meanHead.inFeatures], meanHead.inFeatures == logVarianceHead.inFeatures,
              meanHead.outFeatures == logVarianceHead.outFeatures, decoder.inputShape == [meanHead.outFeatures],
              decoder.outputShape == encoder.inputShape else {
            throw .invalidSpec("VAE parts do not fit: encoder \(encoder.inputShape)→\(encoder.outputShape), heads " +
                               "\(meanHead.inFeatures)→\(meanHead.outFeatures), decoder \(decoder.inputShape)→\(decoder.outputShape)")
        }
        self.encoder = encoder
        self.meanHead = meanHead
        self.logVarianceHead = logVarianceHead
        self.decoder = decoder
    }

    public var inputShape: [Int] { encoder.inputShape }
    public var latentDimension: Int { meanHead.outFeatures }
    public var parameters: [Parameter] {
        encoder.parameters + meanHead.parameters + logVarianceHead.parameters + decoder.parameters
    }
    public var buffers: [Parameter] { encoder.buffers + decoder.buffers }

    /// Everything one forward pass produced, kept for backward.
    public struct Pass: Sendable {
        public var reconstruction: Tensor
        public var mean: Tensor
        public var logVariance: Tensor
        public var noise: Tensor          // ε used (zeros in mean mode)
        var encoderCaches: [LayerCache]
        var meanCache: LayerCache
        var logVarianceCache: LayerCache
        var decoderCaches: [LayerCache]
    }

    /// Runs the VAE. In `.sample` mode ε is drawn from `context.rng`, unless `noise` (shape
    /// `[N, latent]`) is given: then that ε is used as is (a testing hook for reference
    /// comparisons with a fixed ε; the rng is not advanced). `noise` is ignored in `.mean` mode.
    public func forward(_ x: Tensor, sampling: Sampling, context: inout ForwardContext, noise: Tensor? = nil) -> Pass {
        let (h, encCaches) = encoder.forward(x, context: &context)
        let (mu, muCache) = meanHead.forward(h, context: &context)
        let (lv, lvCache) = logVarianceHead.forward(h, context: &context)
        var eps = Tensor(shape: mu.shape)
        var z = mu
        if sampling == .sample {
            if let noise { precondition(noise.shape == mu.shape, "VAE noise \(noise.shape) must be \(mu.shape)") }
            for i in 0..<z.count {
                let e = noise?.storage[i] ?? min(max(context.rng.nextNormal(), -Self.noiseClip), Self.noiseClip)
                eps.storage[i] = e
                z.storage[i] += expf(0.5 * lv.storage[i]) * e
            }
        }
        let (y, decCaches) = decoder.forward(z, context: &context)
        return Pass(reconstruction: y, mean: mu, logVariance: lv, noise: eps, encoderCaches: encCaches,
                    meanCache: muCache, logVarianceCache: lvCache, decoderCaches: decCaches)
    }

    /// Reconstruction only (inference, no caches).
    public func reconstruct(_ x: Tensor, sampling: Sampling, context: inout ForwardContext) -> Tensor {
        var c = context
        c.recordsCache = false
        defer { context.rng = c.rng }
        return forward(x, sampling: sampling, context: &c).reconstruction
    }

    /// Backpropagates a gradient on the reconstruction plus optional direct gradients on μ and
    /// log σ² (the KL term's). Returns the gradient with respect to the input image.
    public func backward(_ pass: Pass, gradReconstruction: Tensor, gradMean: Tensor? = nil,
                         gradLogVariance: Tensor? = nil, gradients: GradientStore?) -> Tensor {
        let dz = decoder.backward(gradReconstruction, caches: pass.decoderCaches, gradients: gradients)
        var dmu = dz
        var dlv = Tensor(shape: dz.shape)
        for i in 0..<dz.count {
            dlv.storage[i] = dz.storage[i] * pass.noise.storage[i] * 0.5 * expf(0.5 * pass.logVariance.storage[i])
        }
        if let gradMean { dmu.add(gradMean) }
        if let gradLogVariance { dlv.add(gradLogVariance) }
        var dh = meanHead.backward(dmu, cache: pass.meanCache, gradients: gradients)
        dh.add(logVarianceHead.backward(dlv, cache: pass.logVarianceCache, gradients: gradients))
        return encoder.backward(dh, caches: pass.encoderCaches, gradients: gradients)
    }
}
