import Foundation
import NeuralNet

/// Everything that defines a training run; recorded in the model card so the exact command
/// reproduces the weights.
public struct TrainingOptions: Sendable, Codable {
    public enum OptimizerKind: String, Sendable, Codable, CaseIterable { case adam, sgd }
    public enum ReconstructionLoss: String, Sendable, Codable, CaseIterable { case sse, bce }
    public enum KLReduction: String, Sendable, Codable, CaseIterable { case sum, mean }

    public var epochs = 10
    public var batchSize = 64
    public var optimizer = OptimizerKind.adam
    public var learningRate: Float = 1e-3
    public var milestones: [Int] = []
    public var gamma: Float = 0.1
    public var momentum: Float = 0.9
    public var weightDecay: Float = 0
    public var seed: UInt64 = 1
    public var augment = false
    /// Use only the first N training / test images (smoke tests); nil = all.
    public var trainLimit: Int?
    public var testLimit: Int?
    // VAE
    public var reconstructionLoss = ReconstructionLoss.sse
    public var klWeight: Float = 0.01
    public var klReduction = KLReduction.sum
    /// Patch VAEs: patches drawn per epoch (random image, random position).
    public var patchesPerEpoch = 100_000
    /// Purifier-aware classifier training: a VAE model file whose sampled reconstructions
    /// replace `purifiedFraction` of each batch, so the classifier learns the purifier's
    /// output distribution (the clean-accuracy cost of purification shrinks).
    public var purifierVAE: String?
    public var purifiedFraction: Float = 0.5
    /// Start from this model file's weights instead of a fresh initialisation (fine-tuning).
    public var initialWeights: String?
    /// The curve of the run that produced `initialWeights` (a `.curve.csv`): its epochs come
    /// first in this run's curve and count towards `epochs`, so a continued model keeps one
    /// curve with one epoch numbering.
    public var priorCurve: String?
    /// VAE training: a classifier whose test accuracy on sampled reconstructions of the test
    /// images is logged every `monitorEvery` epochs and at the last one. The test loss alone
    /// does not say whether the purifier's clean-accuracy cost is falling.
    public var monitorClassifier: String?
    public var monitorEvery = 2
    /// Classifier-guided VAE fine-tuning (`trainGuidedVAE`): the classifier whose verdict on
    /// the reconstruction joins the loss, its weight, and the PGD attack that makes the
    /// adversarial inputs (applied to `adversarialFraction` of each batch).
    public var guideClassifier: String?
    public var guidanceWeight: Float = 1
    public var attackEpsilon: Float = 0.3
    public var attackSteps = 10
    public var adversarialFraction: Float = 0.5
    /// Whom the guided fine-tuning's PGD attacks: the bare classifier (oblivious) or the whole
    /// pipeline through the VAE being trained (adaptive), with `attackEOT` noise draws per step.
    public enum AttackThrough: String, Sendable, Codable, CaseIterable { case classifier, pipeline }
    public var attackThrough = AttackThrough.classifier
    public var attackEOT = 1
    /// Adversarial classifier training (`trainClassifier`): the inner maximisation, and its
    /// L∞ radius `attackEpsilon`, `attackSteps` and step size (nil: 2.5·ε/steps for PGD and
    /// TRADES, 1.25·ε for FGSM-RS as in Wong et al. 2020).
    public var adversarial: AdversarialMethod?
    public var attackStepSize: Float?
    /// TRADES's β: weight of the KL term between clean and adversarial predictions.
    public var tradesBeta: Float = 6
    /// Held-out robust accuracy measured every epoch: the last N test images under PGD with
    /// this many steps (random start, step 2.5·ε/steps).
    public var robustTestImages = 500
    public var robustTestSteps = 10
    /// Early stop when the held-out robust accuracy falls more than this (a fraction, 0.2 =
    /// 20 points) below the best epoch's; the best epoch's weights are kept.
    public var collapseDrop: Double = 0.2
    /// Ramp the training attack's ε linearly from 0 over this many epochs (0 = none).
    public var epsilonWarmupEpochs: Double = 0
    /// Learning-rate schedule: `step` (milestones × gamma) or `cyclic` (one-cycle triangle).
    public var scheduleKind = ScheduleKind.step
    /// Gaussian noise augmentation σ (randomized smoothing): classifiers see x + N(0, σ²) in
    /// training; `trainDenoiser` learns to undo it. 0 = off.
    public var noiseSigma: Float = 0
    /// `trainDenoiser`: weight λ of the stability loss CE(f(D(x + δ)), argmax f(x)).
    public var stabilityWeight: Float = 1
    /// Output
    public var outputDirectory = "models"
    public var checkpointDirectory = "checkpoints"
    public var storeHalfPrecision = false

    public init() {}

    public var schedule: StepSchedule { StepSchedule(baseRate: learningRate, milestones: milestones, gamma: gamma) }

    /// The learning rate at `progress` epochs (fractional: epoch + step / steps). `cyclic` is
    /// Wong et al.'s one-cycle triangle: 0 → `learningRate` linearly over the first 40 % of
    /// `epochs`, back to 0 at the end, updated every step; `step` changes only at milestones.
    public func learningRate(at progress: Double) -> Float {
        switch scheduleKind {
        case .step: return schedule.rate(epoch: Int(progress))
        case .cyclic:
            let total = Double(max(1, epochs)), peak = 0.4 * total
            let f = progress <= peak ? progress / peak : (total - progress) / (total - peak)
            return learningRate * Float(min(1, max(0, f)))
        }
    }

    public func makeOptimizer() -> any Optimizer {
        switch optimizer {
        case .adam: Adam(learningRate: learningRate, weightDecay: weightDecay)
        case .sgd: SGD(learningRate: learningRate, momentum: momentum, weightDecay: weightDecay)
        }
    }
}

/// The inner maximisation of adversarial training.
public enum AdversarialMethod: String, Sendable, Codable, CaseIterable {
    /// Madry et al. 2018: train on PGD (random start) examples.
    case pgd
    /// Zhang et al. 2019: CE(f(x), y) + β·KL(f(x) ‖ f(x′)), x′ maximising the KL.
    case trades
    /// Wong, Rice & Kolter 2020: one FGSM step of α from a uniform random start.
    case fgsmRS = "fgsm-rs"
}

/// How the learning rate moves over a run.
public enum ScheduleKind: String, Sendable, Codable, CaseIterable { case step, cyclic }

/// One line of a training curve.
public struct EpochRecord: Sendable, Codable {
    public var epoch: Int
    public var trainLoss: Double
    /// Classifier: test accuracy. VAE: test loss.
    public var testMetric: Double
    public var seconds: Double
    public var imagesPerSecond: Double
    /// Adversarial training: held-out PGD accuracy (nil for other runs).
    public var robustAccuracy: Double?
    /// VAE training with a monitor classifier: its test accuracy after purification by this
    /// epoch's VAE (nil when not measured this epoch).
    public var purifiedAccuracy: Double?

    public init(epoch: Int, trainLoss: Double, testMetric: Double, seconds: Double, imagesPerSecond: Double,
                robustAccuracy: Double? = nil, purifiedAccuracy: Double? = nil) {
        self.epoch = epoch
        self.trainLoss = trainLoss
        self.testMetric = testMetric
        self.seconds = seconds
        self.imagesPerSecond = imagesPerSecond
        self.robustAccuracy = robustAccuracy
        self.purifiedAccuracy = purifiedAccuracy
    }
}
