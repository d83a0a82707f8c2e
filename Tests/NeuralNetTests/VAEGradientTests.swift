import Testing
import Engine
@testable import NeuralNet
import TestSupport

@Suite("VAE and composed-network gradients", .computeBound)
struct VAEGradientTests {
    /// A small VAE with the paper's layer types: conv, pool, dense heads, upsample, sigmoid.
    /// Sigmoid before max-pool squeezes window values together, so finite differences use a
    /// small step (1e-4) to stay on one side of the pool's kinks.
    static func tinyVAE() throws -> VariationalAutoencoder {
        var rng = RandomSource(seed: 9)
        let encoder = try Sequential(inputShape: [4, 4, 1], layers: [
            Conv2D(inChannels: 1, outChannels: 3, kernel: 3, name: "e0", rng: &rng), Sigmoid(), MaxPool2(), Flatten(),
        ])
        let decoder = try Sequential(inputShape: [5], layers: [
            Dense(inFeatures: 5, outFeatures: 12, name: "d0", rng: &rng), Sigmoid(), Reshape([2, 2, 3]), UpSample2(),
            ConvTranspose2D(inChannels: 3, outChannels: 1, kernel: 3, name: "d1", rng: &rng), Sigmoid(),
        ])
        return try VariationalAutoencoder(
            encoder: encoder, meanHead: Dense(inFeatures: 12, outFeatures: 5, name: "mu", rng: &rng),
            logVarianceHead: Dense(inFeatures: 12, outFeatures: 5, name: "lv", rng: &rng), decoder: decoder)
    }

    @Test func vaeInputGradient_throughSampling_matchesFiniteDifference() throws {
        let vae = try Self.tinyVAE()
        var x = GradientCheck.randomTensor([2, 4, 4, 1], seed: 1, range: 0...1)
        let w = GradientCheck.randomTensor([2, 4, 4, 1], seed: 2)
        func pass(_ input: Tensor) -> VariationalAutoencoder.Pass {
            var ctx = ForwardContext(training: false, rng: RandomSource(seed: 77), recordsCache: true)
            return vae.forward(input, sampling: .sample, context: &ctx)
        }
        // L = Σ w ⊙ x̂ + KL(μ, logvar): exercises both the sampling path and the direct KL path.
        func loss() -> Double {
            let p = pass(x)
            return zip(p.reconstruction.storage, w.storage).reduce(0.0) { $0 + Double($1.0 * $1.1) }
                + Losses.gaussianKL(mean: p.mean, logVariance: p.logVariance).loss
        }
        let p = pass(x)
        let kl = Losses.gaussianKL(mean: p.mean, logVariance: p.logVariance)
        let grads = GradientStore()
        let dx = vae.backward(p, gradReconstruction: w, gradMean: kl.gradMean, gradLogVariance: kl.gradLogVariance, gradients: grads)
        GradientCheck.compare(what: "vae input", analytic: dx, indices: Array(0..<x.count), step: 1e-4, tolerance: 1e-2,
                              perturb: { i, d in x.storage[i] += d }, loss: loss)
        for param in vae.parameters {
            let g = try #require(grads.gradient(for: param), "gradient for \(param.name)")
            GradientCheck.compare(what: param.name, analytic: g, indices: GradientCheck.sampleIndices(param.value.count, limit: 8),
                                  step: 1e-4, tolerance: 1e-2, perturb: { i, d in param.value.storage[i] += d }, loss: loss)
        }
    }

    @Test func vaeThenClassifier_inputGradient_matchesFiniteDifference() throws {
        let vae = try Self.tinyVAE()
        var rng = RandomSource(seed: 3)
        let classifier = try Sequential(inputShape: [4, 4, 1], layers: [
            Conv2D(inChannels: 1, outChannels: 2, kernel: 3, name: "c0", rng: &rng), Sigmoid(), Flatten(),
            Dense(inFeatures: 32, outFeatures: 3, name: "c1", rng: &rng),
        ])
        var x = GradientCheck.randomTensor([2, 4, 4, 1], seed: 4, range: 0...1)
        let labels = [1, 2]
        func forward() -> (VariationalAutoencoder.Pass, Tensor, [LayerCache]) {
            var ctx = ForwardContext(training: false, rng: RandomSource(seed: 8), recordsCache: true)
            let p = vae.forward(x, sampling: .sample, context: &ctx)
            let (logits, caches) = classifier.forward(p.reconstruction, context: &ctx)
            return (p, logits, caches)
        }
        let (p, logits, caches) = forward()
        let (_, dLogits) = Losses.softmaxCrossEntropy(logits: logits, labels: labels)
        let dRecon = classifier.backward(dLogits, caches: caches, gradients: nil)
        let dx = vae.backward(p, gradReconstruction: dRecon, gradients: nil)
        GradientCheck.compare(what: "vae→classifier input", analytic: dx, indices: Array(0..<x.count), step: 1e-2,
                              tolerance: 2e-2, perturb: { i, d in x.storage[i] += d },
                              loss: { Losses.softmaxCrossEntropy(logits: forward().1, labels: labels).loss })
    }

    @Test func meanSampling_isDeterministic_andSampleIsNot() throws {
        let vae = try Self.tinyVAE()
        let x = GradientCheck.randomTensor([1, 4, 4, 1], seed: 5, range: 0...1)
        var c1 = ForwardContext.inference(seed: 1), c2 = ForwardContext.inference(seed: 2)
        #expect(vae.reconstruct(x, sampling: .mean, context: &c1) == vae.reconstruct(x, sampling: .mean, context: &c2))
        #expect(vae.reconstruct(x, sampling: .sample, context: &c1) != vae.reconstruct(x, sampling: .sample, context: &c2))
    }
}
