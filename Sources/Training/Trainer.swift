import Foundation
import Engine
import NeuralNet
import Datasets

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
        let network = try Network(architecture: architecture, seed: options.seed)
        guard case .classifier(let model) = network else { throw NeuralNetError.invalidSpec("not a classifier") }
        if let initial = options.initialWeights {
            try network.load(Dictionary(uniqueKeysWithValues: try ModelFile.load(URL(fileURLWithPath: initial)).network
                .namedTensors.map { ($0.name, $0.value) }))
        }
        let purifier: VariationalAutoencoder? = try options.purifierVAE.map { path in
            guard case .vae(let vae) = try ModelFile.load(URL(fileURLWithPath: path)).network else {
                throw NeuralNetError.invalidSpec("\(path) is not a VAE")
            }
            return vae
        }
        let optimizer = options.makeOptimizer()
        let checkpoint = Checkpoint(directory: URL(fileURLWithPath: options.checkpointDirectory)
            .appendingPathComponent(architecture.name))
        var history = resume ? try checkpoint.restore(network: network, optimizer: optimizer) : []
        let train = options.trainLimit.map { train.prefix($0) } ?? train
        let test = options.testLimit.map { test.prefix($0) } ?? test
        let params = network.trainableParameters
        let gradients = GradientStore()
        for epoch in history.count..<options.epochs {
            optimizer.learningRate = options.schedule.rate(epoch: epoch)
            var sampler = BatchSampler(data: train, batchSize: options.batchSize,
                                       augmentation: options.augment ? .cifar : .none, seed: options.seed &+ UInt64(epoch))
            var context = ForwardContext(training: true, rng: RandomSource(seed: options.seed &* 31 &+ UInt64(epoch)))
            let batches = sampler.epochOrder()
            let bar = ProgressBar(total: batches.count, label: "\(architecture.name) epoch \(epoch + 1)/\(options.epochs)")
            let start = Date()
            var lossSum = 0.0, seen = 0
            for (step, indices) in batches.enumerated() {
                var (x, y) = sampler.batch(indices)
                if let purifier { Self.purifyFraction(&x, fraction: options.purifiedFraction, vae: purifier, context: &context) }
                let (logits, caches) = model.forward(x, context: &context)
                let (loss, grad) = Losses.softmaxCrossEntropy(logits: logits, labels: y)
                gradients.reset()
                _ = model.backward(grad, caches: caches, gradients: gradients)
                optimizer.step(params, gradients: gradients)
                lossSum += loss * Double(indices.count)
                seen += indices.count
                bar.update(step: step + 1, items: seen, extra: String(format: "loss %.4f", lossSum / Double(seen)))
            }
            bar.finish()
            let seconds = Date().timeIntervalSince(start)
            let accuracy = Evaluation.accuracy(model, on: test)
            if let purifier {
                var evalContext = ForwardContext.inference(seed: 11)
                let purified = Evaluation.accuracy(model, on: test) { purifier.reconstruct($0, sampling: .sample, context: &evalContext) }
                log(String(format: "%@ epoch %d: test accuracy after VAE purification %.2f%%", architecture.name, epoch + 1, purified * 100))
            }
            let record = EpochRecord(epoch: epoch + 1, trainLoss: lossSum / Double(seen), testMetric: accuracy,
                                     seconds: seconds, imagesPerSecond: Double(seen) / seconds)
            history.append(record)
            log(String(format: "%@ epoch %d: train loss %.4f, test accuracy %.2f%%, %.0f s (%.0f img/s), lr %g",
                       architecture.name, epoch + 1, record.trainLoss, accuracy * 100, seconds, record.imagesPerSecond,
                       optimizer.learningRate))
            try checkpoint.save(network: network, architecture: architecture, optimizer: optimizer, history: history)
        }
        let url = try finish(network: network, architecture: architecture, history: history,
                             finalMetric: ("test_accuracy", history.last.map { String(format: "%.4f", $0.testMetric) } ?? ""))
        return (url, history)
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
        let network = try Network(architecture: architecture, seed: options.seed)
        guard case .vae(let vae) = network else { throw NeuralNetError.invalidSpec("not a VAE") }
        let optimizer = options.makeOptimizer()
        let checkpoint = Checkpoint(directory: URL(fileURLWithPath: options.checkpointDirectory)
            .appendingPathComponent(architecture.name))
        var history = resume ? try checkpoint.restore(network: network, optimizer: optimizer) : []
        let train = options.trainLimit.map { train.prefix($0) } ?? train
        let test = options.testLimit.map { test.prefix($0) } ?? test
        let params = network.trainableParameters
        let gradients = GradientStore()
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
        for epoch in history.count..<options.epochs {
            optimizer.learningRate = options.schedule.rate(epoch: epoch)
            var rng = RandomSource(seed: options.seed &+ UInt64(epoch))
            var context = ForwardContext(training: true, rng: RandomSource(seed: options.seed &* 31 &+ UInt64(epoch)))
            var sampler = BatchSampler(data: train, batchSize: options.batchSize, seed: options.seed &+ UInt64(epoch))
            let steps = patch == nil ? sampler.batchesPerEpoch : options.patchesPerEpoch / options.batchSize
            let order = patch == nil ? sampler.epochOrder() : []
            let bar = ProgressBar(total: steps, label: "\(architecture.name) epoch \(epoch + 1)/\(options.epochs)")
            let start = Date()
            var lossSum = 0.0, seen = 0
            for step in 0..<steps {
                let x = patch.map { PatchSampler.sample(train, count: options.batchSize, patch: $0, rng: &rng) }
                    ?? sampler.batch(order[step]).images
                let pass = vae.forward(x, sampling: .sample, context: &context)
                let terms = VAEObjective(options: options).terms(pass: pass, input: x)
                gradients.reset()
                _ = vae.backward(pass, gradReconstruction: terms.gradReconstruction, gradMean: terms.gradMean,
                                 gradLogVariance: terms.gradLogVariance, gradients: gradients)
                optimizer.step(params, gradients: gradients)
                lossSum += terms.loss * Double(x.batchSize)
                seen += x.batchSize
                bar.update(step: step + 1, items: seen, extra: String(format: "loss %.3f", lossSum / Double(seen)))
            }
            bar.finish()
            let seconds = Date().timeIntervalSince(start)
            var evalContext = ForwardContext(training: false, rng: RandomSource(seed: 7), recordsCache: false)
            var testLoss = 0.0, testCount = 0
            for batch in testBatches {
                let pass = vae.forward(batch, sampling: .sample, context: &evalContext)
                testLoss += VAEObjective(options: options).terms(pass: pass, input: batch).loss * Double(batch.batchSize)
                testCount += batch.batchSize
            }
            let record = EpochRecord(epoch: epoch + 1, trainLoss: lossSum / Double(seen), testMetric: testLoss / Double(max(1, testCount)),
                                     seconds: seconds, imagesPerSecond: Double(seen) / seconds)
            history.append(record)
            log(String(format: "%@ epoch %d: train loss %.3f, test loss %.3f, %.0f s (%.0f img/s)",
                       architecture.name, epoch + 1, record.trainLoss, record.testMetric, seconds, record.imagesPerSecond))
            try checkpoint.save(network: network, architecture: architecture, optimizer: optimizer, history: history)
        }
        let url = try finish(network: network, architecture: architecture, history: history,
                             finalMetric: ("test_loss", history.last.map { String(format: "%.4f", $0.testMetric) } ?? ""))
        return (url, history)
    }

    // MARK: - Output

    func finish(network: Network, architecture: ModelArchitecture, history: [EpochRecord],
                        finalMetric: (String, String)) throws -> URL {
        var arch = architecture
        let totalSeconds = history.reduce(0) { $0 + $1.seconds }
        var meta = arch.metadata ?? [:]
        meta["epochs"] = String(history.count)
        meta["train_seconds"] = String(format: "%.0f", totalSeconds)
        meta["cpu"] = CPUInfo.current.brand
        meta["blas_kernel"] = BLASRuntime.coreName
        meta[finalMetric.0] = finalMetric.1
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
