import Foundation
import Engine
import NeuralNet
import Datasets
import Purification

/// Trains classifiers and VAEs with checkpoints every epoch and `--resume`.
///
/// Reproducibility: epoch `e` shuffles with seed `seed + e` and draws dropout / VAE noise from
/// a generator seeded the same way, so a resumed run continues exactly as an unbroken one would.
public final class Trainer {
    public let options: TrainingOptions
    public let log: @Sendable (String) -> Void

    public init(options: TrainingOptions, log: @escaping @Sendable (String) -> Void = { print($0) }) {
        self.options = options
        self.log = log
    }

    // MARK: - Classifier

    /// Trains `architecture` on `train`, evaluates on `test` after each epoch, writes the final
    /// model to the output directory and returns its architecture URL and the curve.
    public func trainClassifier(_ architecture: ModelArchitecture, train: LabeledImages, test: LabeledImages,
                                resume: Bool) throws -> (url: URL, history: [EpochRecord]) {
        let options = self.options
        var run = try startRun(architecture, resume: resume)
        guard case .classifier(let model) = run.network else { throw NeuralNetError.invalidSpec("not a classifier") }
        let purifier: VariationalAutoencoder? = try options.purifierVAE.map { path in
            try ModelLoader.vae(at: URL(fileURLWithPath: path))
        }
        let train = options.trainLimit.map { train.prefix($0) } ?? train
        let test = options.testLimit.map { test.prefix($0) } ?? test
        if let method = options.adversarial {
            guard purifier == nil else { throw NeuralNetError.invalidSpec("adversarial training does not mix in VAE reconstructions") }
            guard options.noiseSigma == 0 else { throw NeuralNetError.invalidSpec("adversarial training and Gaussian noise augmentation (--noise-sigma) do not combine") }
            return try trainAdversarially(method, model: model, run: &run, train: train, test: test)
        }
        let (params, optimizer) = (run.network.trainableParameters, run.optimizer)
        let gradients = GradientStore()
        return try runEpochs(&run, lossFormat: "%.4f", metricName: "test_accuracy", epoch: { epoch in
            var sampler = BatchSampler(data: train, batchSize: options.batchSize,
                                       augmentation: options.augment ? .cifar : .none, seed: options.seed &+ UInt64(epoch))
            var context = ForwardContext(training: true, rng: RandomSource(seed: options.seed &* 31 &+ UInt64(epoch)))
            let batches = sampler.epochOrder()
            return TrainingRun.Epoch(steps: batches.count) { step in
                var (x, y) = sampler.batch(batches[step])
                if let purifier { Self.purifyFraction(&x, fraction: options.purifiedFraction, vae: purifier, context: &context) }
                if options.noiseSigma > 0 { x = Self.addingNoise(x, sigma: options.noiseSigma, rng: &context.rng) }
                let (logits, caches) = model.forward(x, context: &context)
                let (loss, grad) = Losses.softmaxCrossEntropy(logits: logits, labels: y)
                gradients.reset()
                _ = model.backward(grad, caches: caches, gradients: gradients)
                optimizer.step(params, gradients: gradients)
                return (loss, x.batchSize)
            }
        }, evaluate: {
            let accuracy = Evaluation.accuracy(model, on: test)
            var text = String(format: "test accuracy %.2f%%", accuracy * 100)
            if options.noiseSigma > 0 {
                let noisy = Self.denoisedAccuracy(vae: nil, classifier: model, test: test, sigma: options.noiseSigma).noisy
                text += String(format: ", %.2f%% under noise σ=%g", noisy * 100, options.noiseSigma)
            }
            return (accuracy, text)
        }, purified: purifier.map { purifier in { _ in
            // Every epoch: the accuracy on sampled reconstructions is what purifier-aware fine-tuning is for
            // (the curve's purified_accuracy column).
            var evalContext = ForwardContext.inference(seed: 11)
            let purified = Evaluation.accuracy(model, on: test) { purifier.reconstruct($0, sampling: .sample, context: &evalContext) }
            return (purified, String(format: "%.2f%% after VAE purification", purified * 100))
        } })
    }

    /// Replaces a random `fraction` of the batch by sampled VAE reconstructions.
    static func purifyFraction(_ x: inout Tensor, fraction: Float, vae: VariationalAutoencoder, context: inout ForwardContext) {
        let chosen = (0..<x.batchSize).filter { _ in context.rng.nextUniform() < fraction }
        guard !chosen.isEmpty else { return }
        var inference = ForwardContext(training: false, rng: context.rng.split(), recordsCache: false)
        let purified = vae.reconstruct(x.gather(chosen), sampling: .sample, context: &inference)
        let size = x.itemCount
        for (j, i) in chosen.enumerated() {
            x.storage.replaceSubrange((i * size)..<((i + 1) * size), with: purified.storage[(j * size)..<((j + 1) * size)])
        }
    }

    // MARK: - VAE

    /// Trains a VAE on whole images, or on random `patch`×`patch` crops of the training images.
    public func trainVAE(_ architecture: ModelArchitecture, train: LabeledImages, test: LabeledImages, patch: Int?,
                         resume: Bool) throws -> (url: URL, history: [EpochRecord]) {
        let options = self.options
        var run = try startRun(architecture, resume: resume)
        guard case .vae(let vae) = run.network else { throw NeuralNetError.invalidSpec("not a VAE") }
        let train = options.trainLimit.map { train.prefix($0) } ?? train
        let test = options.testLimit.map { test.prefix($0) } ?? test
        let (params, optimizer) = (run.network.trainableParameters, run.optimizer)
        let gradients = GradientStore()
        let objective = VAEObjective(options: options)
        let monitor = try options.monitorClassifier.map { try ModelLoader.classifier(at: URL(fileURLWithPath: $0)) }
        guard monitor == nil || patch == nil else { throw NeuralNetError.invalidSpec("a monitor classifier needs whole-image VAE training") }
        // Fixed held-out batches for the test metric: whole test images, or patches cut from them.
        let testBatches: [Tensor] = {
            var rng = RandomSource(seed: 999)
            let n = patch == nil ? test.count : min(10_000, options.patchesPerEpoch / 10)
            return stride(from: 0, to: n, by: 500).map { lo in
                let idx = Array(lo..<min(lo + 500, n))
                if let p = patch { return PatchSampler.sample(test, count: idx.count, patch: p, rng: &rng) }
                return test.batch(idx).images
            }
        }()
        return try runEpochs(&run, lossFormat: "%.3f", metricName: "test_loss", epoch: { epoch in
            var rng = RandomSource(seed: options.seed &+ UInt64(epoch))
            var context = ForwardContext(training: true, rng: RandomSource(seed: options.seed &* 31 &+ UInt64(epoch)))
            var sampler = BatchSampler(data: train, batchSize: options.batchSize, seed: options.seed &+ UInt64(epoch))
            let steps = patch == nil ? sampler.batchesPerEpoch : options.patchesPerEpoch / options.batchSize
            let order = patch == nil ? sampler.epochOrder() : []
            return TrainingRun.Epoch(steps: steps) { step in
                let x = patch.map { PatchSampler.sample(train, count: options.batchSize, patch: $0, rng: &rng) }
                    ?? sampler.batch(order[step]).images
                let pass = vae.forward(x, sampling: .sample, context: &context)
                let terms = objective.terms(pass: pass, input: x)
                gradients.reset()
                _ = vae.backward(pass, gradReconstruction: terms.gradReconstruction, gradMean: terms.gradMean,
                                 gradLogVariance: terms.gradLogVariance, gradients: gradients)
                optimizer.step(params, gradients: gradients)
                return (terms.loss, x.batchSize)
            }
        }, evaluate: {
            var evalContext = ForwardContext(training: false, rng: RandomSource(seed: 7), recordsCache: false)
            var testLoss = 0.0, testCount = 0
            for batch in testBatches {
                let pass = vae.forward(batch, sampling: .sample, context: &evalContext)
                testLoss += objective.terms(pass: pass, input: batch).loss * Double(batch.batchSize)
                testCount += batch.batchSize
            }
            let loss = testLoss / Double(max(1, testCount))
            return (loss, String(format: "test loss %.3f", loss))
        }, purified: monitor.map { classifier in { epoch in
            guard epoch % max(1, options.monitorEvery) == 0 || epoch == options.epochs else { return nil }
            var context = ForwardContext.inference(seed: 11)
            let accuracy = Evaluation.accuracy(classifier, on: test) { vae.reconstruct($0, sampling: .sample, context: &context) }
            return (accuracy, String(format: "monitor classifier %.2f%% after purification", accuracy * 100))
        } })
    }

    // MARK: - Output

    func finish(network: Network, architecture: ModelArchitecture, history: [EpochRecord],
                        metrics: [(String, String)]) throws -> URL {
        var arch = architecture
        let totalSeconds = history.reduce(0) { $0 + $1.seconds }
        var meta = arch.metadata ?? [:]
        meta["epochs"] = String(history.count)
        meta["train_seconds"] = String(format: "%.0f", totalSeconds)
        meta["cpu"] = CPUInfo.current.brand
        meta["blas_kernel"] = BLASRuntime.coreName
        for (key, value) in metrics { meta[key] = value }
        if options.noiseSigma > 0 { meta["noise_sigma"] = String(options.noiseSigma) }   // the service's default σ
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        meta["options"] = String(decoding: try encoder.encode(options), as: UTF8.self)
        arch.metadata = meta
        let dir = URL(fileURLWithPath: options.outputDirectory)
        let url = try ModelFile.save(network, architecture: arch, to: dir, dtype: options.storeHalfPrecision ? .f16 : .f32)
        try CurveFile.write(history, to: dir.appendingPathComponent("\(arch.name).curve.csv"))
        log("wrote \(url.path)")
        return url
    }
}
