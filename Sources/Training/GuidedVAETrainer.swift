import Foundation
import Engine
import NeuralNet
import Datasets
import Attacks
import Purification

/// Classifier-guided purifier fine-tuning, the paper's own future work ("train the purifier to
/// reward removing attacks"), in the spirit of high-level-guided denoisers (Liao et al., 2018).
///
/// Each batch: a fraction of the clean images is replaced by PGD adversarial images (true
/// labels) made against the bare classifier or, with `attackThrough = .pipeline`, against the
/// whole purifier + classifier pipeline; the VAE reconstructs the batch, and the loss is
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
        let options = self.options
        var run = try startRun(architecture, resume: resume)
        guard case .vae(let vae) = run.network else { throw NeuralNetError.invalidSpec("not a VAE") }
        let train = options.trainLimit.map { train.prefix($0) } ?? train
        let test = test.prefix(options.testLimit ?? 500)
        let (params, optimizer) = (run.network.trainableParameters, run.optimizer)
        let gradients = GradientStore()
        let attack = LinfAttack.pgd(epsilon: options.attackEpsilon, steps: options.attackSteps)
        let target = try Self.attackTarget(options, classifier: classifier, vae: vae)
        let objective = VAEObjective(options: options)
        return try runEpochs(&run, lossFormat: "%.3f", metricName: "test_robust_accuracy", epoch: { epoch in
            var rng = RandomSource(seed: options.seed &+ 1000 &+ UInt64(epoch))
            var context = ForwardContext(training: true, rng: RandomSource(seed: options.seed &* 31 &+ UInt64(epoch)))
            var sampler = BatchSampler(data: train, batchSize: options.batchSize, seed: options.seed &+ UInt64(epoch))
            let order = sampler.epochOrder()
            return TrainingRun.Epoch(steps: order.count) { step in
                let (x, y) = sampler.batch(order[step])
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
                return (terms.loss + Double(options.guidanceWeight) * ce, x.batchSize)
            }
        }, evaluate: {
            let (clean, robust) = Self.guidedMetrics(vae: vae, classifier: classifier, test: test, attack: attack,
                                                     target: ClassifierTarget(classifier: classifier))
            return (robust, String(format: "on %d test images after purification: clean %.2f%%, oblivious PGD-%d ε=%g %.2f%%",
                                   test.count, clean * 100, options.attackSteps, options.attackEpsilon, robust * 100))
        })
    }

    /// Whom the training attack differentiates: the bare classifier (the oblivious attacker of
    /// the paper's threat model), or the whole pipeline through the VAE being trained, with
    /// `attackEOT` noise draws per step (the adaptive attacker; the VAE is a reference type, so
    /// the attack always sees the current weights).
    static func attackTarget(_ options: TrainingOptions, classifier: Sequential,
                             vae: VariationalAutoencoder) throws -> any AttackTarget {
        switch options.attackThrough {
        case .classifier: return ClassifierTarget(classifier: classifier)
        case .pipeline:
            let model = DefendedModel(name: "training", version: "0", labels: [], classifier: classifier, vae: vae,
                                      patchVAE: nil, threshold: .infinity)
            return try DefendedTarget(model: model, options: DefenseOptions(purifier: .vae), backward: .exact,
                                      eotSamples: options.attackEOT)
        }
    }

    /// `x` with a random `fraction` of its images replaced by PGD adversarial images.
    static func adversarialMix(_ x: Tensor, labels: [Int], fraction: Float, attack: LinfAttack, target: any AttackTarget,
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
