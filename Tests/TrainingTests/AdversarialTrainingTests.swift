import Testing
import Foundation
import Engine
import NeuralNet
import Datasets
import Attacks
import Models
import TestSupport
@testable import Training

/// Adversarial training (`--adversarial pgd|trades|fgsm-rs`): the step, the TRADES gradients,
/// the schedule, early stopping on a collapse, and resume.
@Suite("Adversarial training", .computeBound)
struct AdversarialTrainingTests {
    static let toy = TrainingTests.toyData(count: 128, seed: 1)
    static let toyTest = TrainingTests.toyData(count: 64, seed: 2)

    static func options(_ method: AdversarialMethod, epochs: Int) -> TrainingOptions {
        var o = TrainingTests.options(TrainingTests.temp())
        o.adversarial = method
        o.epochs = epochs
        o.attackEpsilon = 0.15
        o.attackSteps = 5
        o.robustTestImages = 32
        o.robustTestSteps = 5
        return o
    }

    /// Mean cross-entropy of `model` on PGD-10 images (fixed seed) of `data`.
    static func adversarialLoss(_ model: Sequential, on data: LabeledImages, epsilon: Float) -> Double {
        var rng = RandomSource(seed: 5)
        let (x, y) = data.batch(Array(0..<data.count))
        let adv = LinfAttack.pgd(epsilon: epsilon, steps: 10).perturb(x, labels: y, target: ClassifierTarget(classifier: model), rng: &rng)
        var context = ForwardContext.inference(seed: 0)
        return Losses.softmaxCrossEntropy(logits: model(adv, context: &context), labels: y).loss
    }

    @Test(arguments: AdversarialMethod.allCases)
    func adversarialStep_lowersTheAdversarialLoss(_ method: AdversarialMethod) throws {
        let arch = TrainingTests.classifier
        let model = try Sequential(inputShape: arch.inputShape, specs: arch.layers!, prefix: "c", seed: 3)
        var o = Self.options(method, epochs: 1)
        o.tradesBeta = 1
        let step = AdversarialStep(method: method, options: o)
        let optimizer = Adam(learningRate: 1e-2)
        let gradients = GradientStore()
        var context = ForwardContext(training: true, rng: RandomSource(seed: 1))
        var rng = RandomSource(seed: 2)
        let before = Self.adversarialLoss(model, on: Self.toyTest, epsilon: 0.15)
        var sampler = BatchSampler(data: Self.toy, batchSize: 32, seed: 1)
        for _ in 0..<3 {
            for batch in sampler.epochOrder() {
                let (x, y) = sampler.batch(batch)
                gradients.reset()
                let loss = step.accumulate(model: model, x: x, labels: y, gradients: gradients, context: &context, rng: &rng)
                #expect(loss.isFinite)
                optimizer.step(model.parameters, gradients: gradients)
            }
        }
        let after = Self.adversarialLoss(model, on: Self.toyTest, epsilon: 0.15)
        #expect(after < 0.5 * before, "\(method): adversarial loss \(before) → \(after)")
    }

    @Test func adversarialImages_stayInTheBallAndInRange() throws {
        let arch = TrainingTests.classifier
        let model = try Sequential(inputShape: arch.inputShape, specs: arch.layers!, prefix: "c", seed: 3)
        let (x, y) = Self.toy.batch(Array(0..<16))
        for method in AdversarialMethod.allCases {
            var rng = RandomSource(seed: 1)
            let adv = AdversarialStep(method: method, options: Self.options(method, epochs: 1)).adversarial(model: model, x: x,
                                                                                                              labels: y, rng: &rng)
            #expect(adv.maxAbsDifference(x) <= 0.15 + 1e-6)
            #expect(adv.maxAbsDifference(x) > 0.05, "\(method) moved the images")
            #expect(adv.storage.allSatisfy { $0 >= 0 && $0 <= 1 })
        }
    }

    @Test func tradesDivergence_gradientsMatchFiniteDifferences() {
        var rng = RandomSource(seed: 9)
        let clean = Tensor(shape: [3, 5], storage: (0..<15).map { _ in 2 * rng.nextNormal() })
        let adversarial = Tensor(shape: [3, 5], storage: (0..<15).map { _ in 2 * rng.nextNormal() })
        let kl = TRADES.divergence(clean: clean, adversarial: adversarial)
        #expect(kl.values.allSatisfy { $0 >= 0 })
        #expect(TRADES.divergence(clean: clean, adversarial: clean).values.allSatisfy { abs($0) < 1e-6 })
        let total = { (c: Tensor, a: Tensor) in TRADES.divergence(clean: c, adversarial: a).values.reduce(0.0) { $0 + Double($1) } }
        for pair in FiniteDifference.directional(at: adversarial, gradient: kl.gradAdversarial, step: 1e-2, seed: 1, { total(clean, $0) }) {
            #expect(FiniteDifference.relativeError(pair) < 1e-2)
        }
        for pair in FiniteDifference.directional(at: clean, gradient: kl.gradClean, step: 1e-2, seed: 2, { total($0, adversarial) }) {
            #expect(FiniteDifference.relativeError(pair) < 1e-2)
        }
    }

    @Test func cyclicSchedule_isAOneCycleTriangle() {
        var o = TrainingOptions()
        o.learningRate = 0.2
        o.epochs = 10
        o.scheduleKind = .cyclic
        #expect(o.learningRate(at: 0) == 0)
        #expect(abs(o.learningRate(at: 2) - 0.1) < 1e-6)
        #expect(abs(o.learningRate(at: 4) - 0.2) < 1e-6)
        #expect(abs(o.learningRate(at: 7) - 0.1) < 1e-6)
        #expect(o.learningRate(at: 10) == 0)
        o.scheduleKind = .step
        o.milestones = [5]
        #expect(o.learningRate(at: 4.9) == 0.2)
        #expect(abs(o.learningRate(at: 5.1) - 0.02) < 1e-7)
    }

    @Test func earlyStopping_findsTheBestEpochAndTheCollapse() {
        let record = { (robust: Double?) in
            EpochRecord(epoch: 1, trainLoss: 0, testMetric: 0, seconds: 0, imagesPerSecond: 0, robustAccuracy: robust)
        }
        let stopping = RobustEarlyStopping(maxDrop: 0.2)
        #expect(stopping.bestEpoch([record(nil)]) == nil)
        #expect(!stopping.hasCollapsed([record(0.4), record(0.45), record(0.3)]))
        #expect(stopping.bestEpoch([record(0.4), record(0.45), record(0.3)]) == 1)
        #expect(stopping.hasCollapsed([record(0.4), record(0.45), record(0.02)]))
    }

    /// A learning rate turned negative after epoch 2 (gradient ascent) wrecks the weights: the run must stop at
    /// epoch 3, write the best epoch's weights, and a resume must not train on.
    @Test func earlyStopping_triggersOnAForcedCollapse_andKeepsTheBestWeights() throws {
        var o = Self.options(.fgsmRS, epochs: 6)
        o.optimizer = .sgd
        o.learningRate = 0.05
        o.milestones = [2]
        o.gamma = -100
        let lines = LineCollector()
        let (url, history) = try Trainer(options: o, log: { lines.append($0) })
            .trainClassifier(TrainingTests.classifier, train: Self.toy, test: Self.toyTest, resume: false)
        #expect(history.count == 3, "stopped after the collapsed epoch: \(history.map { $0.robustAccuracy ?? -1 })")
        let best = history[0..<2].map { $0.robustAccuracy! }.max()!
        #expect(best - history[2].robustAccuracy! > 0.2)
        #expect(lines.all.contains { $0.contains("collapsed") })
        let saved = try ModelFile.load(url)
        guard case .classifier(let model) = saved.network else { Issue.record("not a classifier"); return }
        let heldOut = Self.toyTest.suffix(o.robustTestImages)
        let robust = Trainer.robustAccuracy(model, on: heldOut, attack: LinfAttack.pgd(epsilon: o.attackEpsilon, steps: o.robustTestSteps))
        #expect(abs(robust - best) < 1e-9)
        #expect(saved.architecture.metadata?["best_epoch"] != nil)
        let checkpoints = URL(fileURLWithPath: o.checkpointDirectory)
        #expect(FileManager.default.fileExists(atPath: checkpoints.appendingPathComponent("toy-classifier.best/history.json").path))
        let again = try Trainer(options: o, log: { _ in })
            .trainClassifier(TrainingTests.classifier, train: Self.toy, test: Self.toyTest, resume: true)
        #expect(again.history.count == 3)
    }

    @Test func resume_continuesAnAdversarialRun_likeAnUnbrokenOne() throws {
        var o = Self.options(.pgd, epochs: 1)
        _ = try Trainer(options: o, log: { _ in }).trainClassifier(TrainingTests.classifier, train: Self.toy, test: Self.toyTest,
                                                                  resume: false)
        o.epochs = 2
        let resumed = try Trainer(options: o, log: { _ in }).trainClassifier(TrainingTests.classifier, train: Self.toy,
                                                                            test: Self.toyTest, resume: true)
        var straightOptions = Self.options(.pgd, epochs: 2)
        straightOptions.epochs = 2
        let straight = try Trainer(options: straightOptions, log: { _ in }).trainClassifier(TrainingTests.classifier, train: Self.toy,
                                                                                           test: Self.toyTest, resume: false)
        #expect(resumed.history.count == 2)
        #expect(abs(resumed.history[1].trainLoss - straight.history[1].trainLoss) < 1e-9)
        #expect(resumed.history[1].robustAccuracy == straight.history[1].robustAccuracy)
        let curve = try String(contentsOf: URL(fileURLWithPath: o.outputDirectory).appendingPathComponent("toy-classifier.curve.csv"),
                               encoding: .utf8)
        #expect(curve.hasPrefix("epoch,train_loss,test_metric,seconds,images_per_second,robust_accuracy\n"))
    }
}

extension AdversarialTrainingTests {
    @Test func epsilonWarmup_rampsTheTrainingAttack() {
        let step = AdversarialStep(method: .pgd, options: Self.options(.pgd, epochs: 4))
        #expect(abs(step.warmedUp(progress: 1, epochs: 2).attack.epsilon - 0.075) < 1e-6)
        #expect(abs(step.warmedUp(progress: 1, epochs: 2).attack.stepSize - step.attack.stepSize / 2) < 1e-6)
        #expect(step.warmedUp(progress: 2.5, epochs: 2) == step)
        #expect(step.warmedUp(progress: 0.5, epochs: 0) == step)
    }
}

extension AdversarialTrainingTests {
    /// The CIFAR-10 residual networks build, run, and save/load through the model files.
    @Test func robustArchitectures_buildRunAndRoundTrip() throws {
        let counts = try ["resnet20-w16", "preact18-w32"].map { name -> Int in
            let arch = try #require(RobustArchitectures.named(name))
            let network = try Network(architecture: arch, seed: 1)
            guard case .classifier(let model) = network else { Issue.record("not a classifier"); return 0 }
            #expect(model.outputShape == [10])
            var context = ForwardContext.inference(seed: 1)
            let x = Tensor(shape: [2, 32, 32, 3], repeating: 0.5)
            let y = model(x, context: &context)
            let dir = TrainingTests.temp()
            let url = try ModelFile.save(network, architecture: arch, to: dir)
            guard case .classifier(let loaded) = try ModelFile.load(url).network else { Issue.record("not a classifier"); return 0 }
            #expect(loaded(x, context: &context) == y)
            return network.parameterCount
        }
        // ResNet-20 with 1×1 projection shortcuts: 0.27 M; PreActResNet-18 at width 32: 1/4 of 11.2 M.
        #expect((260_000...290_000).contains(counts[0]), "\(counts[0])")
        #expect((2_700_000...2_900_000).contains(counts[1]), "\(counts[1])")
        #expect(RobustArchitectures.named("resnet21-w16") == nil)
        #expect(RobustArchitectures.named("vgg-w16") == nil)
    }
}
