import Foundation
import Engine
import NeuralNet
import Datasets
import Attacks

/// Classifier-guided purifier fine-tuning, the paper's own future work ("train the purifier to
/// reward removing attacks"), in the spirit of high-level-guided denoisers (Liao et al., 2018).
///
/// Each batch: a fraction of the clean images is replaced by PGD adversarial images made
/// against the bare classifier (true labels); the VAE reconstructs the batch, and the loss is
///
///     recon(VAE(x'), x) + β·KL + λ · CE(classifier(VAE(x')), y)
///
/// i.e. the reconstruction target is always the *clean* image, and the frozen classifier's
/// cross-entropy on the reconstruction is backpropagated through the classifier into the
/// decoder. The classifier's weights never change. Clean images stay in every batch so the
/// purifier does not learn to distort clean inputs (the clean-accuracy cost).
extension Trainer {
    public func trainGuidedVAE(_ architecture: ModelArchitecture, classifier: Sequential, train: LabeledImages,
                               test: LabeledImages, resume: Bool) throws -> (url: URL, history: [EpochRecord]) {
        let network = try Network(architecture: architecture, seed: options.seed)
        guard case .vae(let vae) = network else { throw NeuralNetError.invalidSpec("not a VAE") }
        if let initial = options.initialWeights {
            try network.load(Dictionary(uniqueKeysWithValues: try ModelFile.load(URL(fileURLWithPath: initial)).network
                .namedTensors.map { ($0.name, $0.value) }))
        }
        let optimizer = options.makeOptimizer()
        let checkpoint = Checkpoint(directory: URL(fileURLWithPath: options.checkpointDirectory)
            .appendingPathComponent(architecture.name))
        var history = resume ? try checkpoint.restore(network: network, optimizer: optimizer) : []
        let train = options.trainLimit.map { train.prefix($0) } ?? train
        let test = test.prefix(options.testLimit ?? 500)
        let params = network.trainableParameters
        let gradients = GradientStore()
        let target = ClassifierTarget(classifier: classifier)
        let attack = LinfAttack.pgd(epsilon: options.attackEpsilon, steps: options.attackSteps)
        let objective = VAEObjective(options: options)
        for epoch in history.count..<options.epochs {
            optimizer.learningRate = options.schedule.rate(epoch: epoch)
            var rng = RandomSource(seed: options.seed &+ 1000 &+ UInt64(epoch))
            var context = ForwardContext(training: true, rng: RandomSource(seed: options.seed &* 31 &+ UInt64(epoch)))
            var sampler = BatchSampler(data: train, batchSize: options.batchSize, seed: options.seed &+ UInt64(epoch))
            let order = sampler.epochOrder()
            let bar = ProgressBar(total: order.count, label: "\(architecture.name) epoch \(epoch + 1)/\(options.epochs)")
            let start = Date()
            var lossSum = 0.0, seen = 0
            for (step, indices) in order.enumerated() {
                let (x, y) = sampler.batch(indices)
                let input = Self.adversarialMix(x, labels: y, fraction: options.adversarialFraction, attack: attack,
                                                target: target, rng: &rng)
                let pass = vae.forward(input, sampling: .sample, context: &context)
                let terms = objective.terms(pass: pass, input: x)
                var classifierContext = ForwardContext(training: false, rng: rng.split(), recordsCache: true)
                let (logits, caches) = classifier.forward(pass.reconstruction, context: &classifierContext)
                let (ce, gradLogits) = Losses.softmaxCrossEntropy(logits: logits, labels: y)
                var gradReconstruction = terms.gradReconstruction
                gradReconstruction.add(classifier.backward(gradLogits, caches: caches, gradients: nil),
                                       scaledBy: options.guidanceWeight)
                gradients.reset()
                _ = vae.backward(pass, gradReconstruction: gradReconstruction, gradMean: terms.gradMean,
                                 gradLogVariance: terms.gradLogVariance, gradients: gradients)
                optimizer.step(params, gradients: gradients)
                lossSum += (terms.loss + Double(options.guidanceWeight) * ce) * Double(x.batchSize)
                seen += x.batchSize
                bar.update(step: step + 1, items: seen, extra: String(format: "loss %.3f", lossSum / Double(seen)))
            }
            bar.finish()
            let seconds = Date().timeIntervalSince(start)
            let (clean, robust) = Self.guidedMetrics(vae: vae, classifier: classifier, test: test, attack: attack, target: target)
            let record = EpochRecord(epoch: epoch + 1, trainLoss: lossSum / Double(seen), testMetric: robust,
                                     seconds: seconds, imagesPerSecond: Double(seen) / seconds)
            history.append(record)
            log(String(format: "%@ epoch %d: train loss %.3f; on %d test images after purification: clean %.2f%%, "
                       + "oblivious PGD-%d ε=%g %.2f%%; %.0f s", architecture.name, epoch + 1, record.trainLoss, test.count,
                       clean * 100, options.attackSteps, options.attackEpsilon, robust * 100, seconds))
            try checkpoint.save(network: network, architecture: architecture, optimizer: optimizer, history: history)
        }
        let url = try finish(network: network, architecture: architecture, history: history,
                                  finalMetric: ("test_robust_accuracy", history.last.map { String(format: "%.4f", $0.testMetric) } ?? ""))
        return (url, history)
    }

    /// `x` with a random `fraction` of its images replaced by PGD adversarial images.
    static func adversarialMix(_ x: Tensor, labels: [Int], fraction: Float, attack: LinfAttack, target: ClassifierTarget,
                               rng: inout RandomSource) -> Tensor {
        let chosen = (0..<x.batchSize).filter { _ in rng.nextUniform() < fraction }
        guard !chosen.isEmpty else { return x }
        let adversarial = attack.perturb(x.gather(chosen), labels: chosen.map { labels[$0] }, target: target, rng: &rng)
        var out = x
        let size = x.itemCount
        for (j, i) in chosen.enumerated() {
            out.storage.replaceSubrange((i * size)..<((i + 1) * size), with: adversarial.storage[(j * size)..<((j + 1) * size)])
        }
        return out
    }

    /// Clean and oblivious-PGD accuracy of classifier(VAE(·)) on `test` (fixed seeds, so the
    /// epochs are comparable).
    static func guidedMetrics(vae: VariationalAutoencoder, classifier: Sequential, test: LabeledImages, attack: LinfAttack,
                              target: ClassifierTarget) -> (clean: Double, robust: Double) {
        var rng = RandomSource(seed: 4242)
        var correctClean = 0, correctRobust = 0
        for lo in stride(from: 0, to: test.count, by: 100) {
            let (x, y) = test.batch(Array(lo..<min(lo + 100, test.count)))
            let adversarial = attack.perturb(x, labels: y, target: target, rng: &rng)
            for (images, isClean) in [(x, true), (adversarial, false)] {
                var context = ForwardContext(training: false, rng: rng.split(), recordsCache: false)
                let purified = vae.reconstruct(images, sampling: .sample, context: &context)
                let predictions = classifier.forward(purified, context: &context).output.argmaxPerItem()
                let correct = zip(predictions, y).filter { $0 == $1 }.count
                if isClean { correctClean += correct } else { correctRobust += correct }
            }
        }
        return (Double(correctClean) / Double(test.count), Double(correctRobust) / Double(test.count))
    }
}
