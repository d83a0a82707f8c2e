import Foundation
import Engine
import NeuralNet
import Datasets

/// Gaussian-noise training for randomized smoothing.
///
/// Classifiers (`noiseSigma` in `trainClassifier`): every training input gets N(0, σ²) noise,
/// unclipped, as in Cohen, Rosenfeld & Kolter (ICML 2019), so the base classifier is accurate
/// on the noisy copies the smoothed classifier sees.
///
/// Denoisers (`trainDenoiser`): the VAE in `--initial-weights` learns to map x + δ to x for a
/// frozen classifier f, as in Denoised Smoothing (Salman, Sun, Yang, Kapoor & Kolter, NeurIPS
/// 2020). The loss per batch is
///
///     recon(VAE(x + δ), x) + β·KL + λ · CE(f(VAE(x + δ)), argmax f(x))
///
/// the VAE's own objective with the clean image as target (`recon` is its summed squared
/// error, i.e. the MSE objective; β·KL keeps it a VAE) plus the "stability" loss, whose gradient
/// is backpropagated through the frozen classifier into the VAE. λ = `stabilityWeight`.
extension Trainer {
    public func trainDenoiser(_ architecture: ModelArchitecture, classifier: Sequential, train: LabeledImages,
                              test: LabeledImages, resume: Bool) throws -> (url: URL, history: [EpochRecord]) {
        let options = self.options
        guard options.noiseSigma > 0 else { throw NeuralNetError.invalidSpec("denoiser training needs a noise σ > 0") }
        var run = try startRun(architecture, resume: resume)
        guard case .vae(let vae) = run.network else { throw NeuralNetError.invalidSpec("not a VAE") }
        let train = options.trainLimit.map { train.prefix($0) } ?? train
        let test = test.prefix(options.testLimit ?? 1000)
        let (params, optimizer) = (run.network.trainableParameters, run.optimizer)
        let gradients = GradientStore()
        let objective = VAEObjective(options: options)
        return try runEpochs(&run, lossFormat: "%.3f", metricName: "test_noisy_accuracy", epoch: { epoch in
            var rng = RandomSource(seed: options.seed &+ 1000 &+ UInt64(epoch))
            var context = ForwardContext(training: true, rng: RandomSource(seed: options.seed &* 31 &+ UInt64(epoch)))
            var sampler = BatchSampler(data: train, batchSize: options.batchSize, seed: options.seed &+ UInt64(epoch))
            let order = sampler.epochOrder()
            return TrainingRun.Epoch(steps: order.count) { step in
                let x = sampler.batch(order[step]).images
                var inference = ForwardContext(training: false, rng: rng.split(), recordsCache: false)
                let targets = classifier(x, context: &inference).argmaxPerItem()
                let noisy = Self.addingNoise(x, sigma: options.noiseSigma, rng: &rng)
                let pass = vae.forward(noisy, sampling: .sample, context: &context)
                let terms = objective.terms(pass: pass, input: x)
                var classifierContext = ForwardContext(training: false, rng: rng.split(), recordsCache: true)
                let (logits, caches) = classifier.forward(pass.reconstruction, context: &classifierContext)
                let (ce, gradLogits) = Losses.softmaxCrossEntropy(logits: logits, labels: targets)
                var gradReconstruction = terms.gradReconstruction
                gradReconstruction.add(classifier.backward(gradLogits, caches: caches, gradients: nil), scaledBy: options.stabilityWeight)
                gradients.reset()
                _ = vae.backward(pass, gradReconstruction: gradReconstruction, gradMean: terms.gradMean,
                                 gradLogVariance: terms.gradLogVariance, gradients: gradients)
                optimizer.step(params, gradients: gradients)
                return (terms.loss + Double(options.stabilityWeight) * ce, x.batchSize)
            }
        }, evaluate: {
            let (noisy, clean) = Self.denoisedAccuracy(vae: vae, classifier: classifier, test: test, sigma: options.noiseSigma)
            return (noisy, String(format: "on %d test images: f(D(x+δ)) accuracy %.2f%% at σ=%g, f(D(x)) %.2f%%",
                                  test.count, noisy * 100, options.noiseSigma, clean * 100))
        })
    }

    /// `x` plus independent N(0, σ²) noise per value, unclipped.
    public static func addingNoise(_ x: Tensor, sigma: Float, rng: inout RandomSource) -> Tensor {
        var out = x
        for i in out.storage.indices { out.storage[i] += sigma * rng.nextNormal() }
        return out
    }

    /// Accuracy of f on noisy copies (σ) and clean images of `test`, optionally behind `vae`
    /// (fixed seed, so epochs are comparable).
    static func denoisedAccuracy(vae: VariationalAutoencoder?, classifier: Sequential, test: LabeledImages,
                                 sigma: Float) -> (noisy: Double, clean: Double) {
        var rng = RandomSource(seed: 4243)
        var correctNoisy = 0, correctClean = 0
        for lo in stride(from: 0, to: test.count, by: 200) {
            let (x, y) = test.batch(Array(lo..<min(lo + 200, test.count)))
            for (images, isNoisy) in [(addingNoise(x, sigma: sigma, rng: &rng), true), (x, false)] {
                var context = ForwardContext(training: false, rng: rng.split(), recordsCache: false)
                let input = vae.map { $0.reconstruct(images, sampling: .sample, context: &context) } ?? images
                let correct = zip(classifier(input, context: &context).argmaxPerItem(), y).filter { $0 == $1 }.count
                if isNoisy { correctNoisy += correct } else { correctClean += correct }
            }
        }
        return (Double(correctNoisy) / Double(max(1, test.count)), Double(correctClean) / Double(max(1, test.count)))
    }
}
