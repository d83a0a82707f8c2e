import Foundation
import Engine
import NeuralNet
import Datasets
import Attacks

/// Adversarial classifier training (`--adversarial pgd|trades|fgsm-rs`): every batch is
/// replaced by (PGD, FGSM-RS) or joined by (TRADES) adversarial images made against the
/// current weights, and every epoch measures a held-out PGD accuracy that guards the run
/// against catastrophic overfitting (`runEpochs` keeps the best epoch).
///
/// The inner attack runs the model in inference mode (no dropout, BatchNorm on its running
/// statistics), as TRADES's reference code does: the attack then differentiates the same
/// function that is deployed and evaluated. Inputs stay in [0, 1].
extension Trainer {
    func trainAdversarially(_ method: AdversarialMethod, model: Sequential, run: inout TrainingRun, train: LabeledImages,
                            test: LabeledImages) throws -> (url: URL, history: [EpochRecord]) {
        let options = self.options
        let (params, optimizer) = (run.network.trainableParameters, run.optimizer)
        let gradients = GradientStore()
        let step = AdversarialStep(method: method, options: options)
        // The LAST test images: `vaeguard evaluate` uses the first ones, so model selection
        // (the best epoch) never sees the images of the reported evaluation.
        let heldOut = test.suffix(options.robustTestImages)
        let probe = LinfAttack.pgd(epsilon: options.attackEpsilon, steps: options.robustTestSteps)
        return try runEpochs(&run, lossFormat: "%.4f", metricName: "test_accuracy", epoch: { epoch in
            var sampler = BatchSampler(data: train, batchSize: options.batchSize,
                                       augmentation: options.augment ? .cifar : .none, seed: options.seed &+ UInt64(epoch))
            var context = ForwardContext(training: true, rng: RandomSource(seed: options.seed &* 31 &+ UInt64(epoch)))
            var rng = RandomSource(seed: options.seed &+ 1000 &+ UInt64(epoch))
            let batches = sampler.epochOrder()
            return TrainingRun.Epoch(steps: batches.count) { index in
                let (x, y) = sampler.batch(batches[index])
                gradients.reset()
                let progress = Double(epoch) + Double(index) / Double(batches.count)
                let loss = step.warmedUp(progress: progress, epochs: options.epsilonWarmupEpochs)
                    .accumulate(model: model, x: x, labels: y, gradients: gradients, context: &context, rng: &rng)
                optimizer.step(params, gradients: gradients)
                return (loss, x.batchSize)
            }
        }, evaluate: {
            let accuracy = Evaluation.accuracy(model, on: test)
            return (accuracy, String(format: "test accuracy %.2f%%", accuracy * 100))
        }, robustness: {
            let robust = Self.robustAccuracy(model, on: heldOut, attack: probe)
            return (robust, String(format: "PGD-%d ε=%g accuracy %.2f%% on the last %d test images", options.robustTestSteps,
                                   options.attackEpsilon, robust * 100, heldOut.count))
        })
    }

    /// Accuracy of `model` on `data` under `attack` against the bare model (fixed seed, so the
    /// epochs are comparable).
    static func robustAccuracy(_ model: Sequential, on data: LabeledImages, attack: LinfAttack, batchSize: Int = 100) -> Double {
        var rng = RandomSource(seed: 4242)
        let target = ClassifierTarget(classifier: model)
        var correct = 0
        for lo in stride(from: 0, to: data.count, by: batchSize) {
            let (x, y) = data.batch(Array(lo..<min(lo + batchSize, data.count)))
            let adversarial = attack.perturb(x, labels: y, target: target, rng: &rng)
            var context = ForwardContext.inference(seed: 0)
            correct += zip(model(adversarial, context: &context).argmaxPerItem(), y).filter { $0 == $1 }.count
        }
        return Double(correct) / Double(max(1, data.count))
    }
}

/// One adversarial-training step's loss and parameter gradients, separate from the epoch loop
/// so tests can drive it directly.
struct AdversarialStep: Equatable {
    let method: AdversarialMethod
    var attack: LinfAttack
    let beta: Float

    init(method: AdversarialMethod, options: TrainingOptions) {
        self.method = method
        let eps = options.attackEpsilon
        switch method {
        case .pgd, .trades:
            let steps = max(1, options.attackSteps)
            attack = LinfAttack(epsilon: eps, steps: steps, stepSize: options.attackStepSize ?? 2.5 * eps / Float(steps),
                                randomStart: true)
        case .fgsmRS:
            attack = LinfAttack(epsilon: eps, steps: 1, stepSize: options.attackStepSize ?? 1.25 * eps, randomStart: true)
        }
        beta = options.tradesBeta
    }

    /// This step with ε (and the step size with it) ramped linearly from 0 over the first
    /// `epochs` epochs: an ε = 0.3 MNIST run from scratch otherwise can sit at chance for long.
    func warmedUp(progress: Double, epochs: Double) -> AdversarialStep {
        guard epochs > 0, progress < epochs else { return self }
        var copy = self
        let f = Float(max(progress, 0.01) / epochs)
        copy.attack.epsilon *= f
        copy.attack.stepSize *= f
        return copy
    }

    /// The adversarial images for `x` against the current weights (model in inference mode).
    func adversarial(model: Sequential, x: Tensor, labels: [Int], rng: inout RandomSource) -> Tensor {
        switch method {
        case .pgd, .fgsmRS: attack.perturb(x, labels: labels, target: ClassifierTarget(classifier: model), rng: &rng)
        case .trades: TRADES.perturb(model: model, x: x, attack: attack, rng: &rng)
        }
    }

    /// Makes the adversarial batch, runs the training forward/backward pass(es) and adds the
    /// parameter gradients of the batch-mean loss to `gradients`; returns that loss.
    func accumulate(model: Sequential, x: Tensor, labels: [Int], gradients: GradientStore, context: inout ForwardContext,
                    rng: inout RandomSource) -> Double {
        let adv = adversarial(model: model, x: x, labels: labels, rng: &rng)
        switch method {
        case .pgd, .fgsmRS:
            let (logits, caches) = model.forward(adv, context: &context)
            let (loss, grad) = Losses.softmaxCrossEntropy(logits: logits, labels: labels)
            _ = model.backward(grad, caches: caches, gradients: gradients)
            return loss
        case .trades:
            let (clean, cleanCaches) = model.forward(x, context: &context)
            let (robust, robustCaches) = model.forward(adv, context: &context)
            let (ce, gradCE) = Losses.softmaxCrossEntropy(logits: clean, labels: labels)
            let kl = TRADES.divergence(clean: clean, adversarial: robust)
            let n = Float(x.batchSize)
            var gradClean = gradCE
            gradClean.add(kl.gradClean, scaledBy: beta / n)
            var gradRobust = kl.gradAdversarial
            gradRobust.scale(by: beta / n)
            _ = model.backward(gradClean, caches: cleanCaches, gradients: gradients)
            _ = model.backward(gradRobust, caches: robustCaches, gradients: gradients)
            return ce + Double(beta) * kl.values.reduce(0) { $0 + Double($1) } / Double(n)
        }
    }
}
