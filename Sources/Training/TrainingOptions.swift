import Foundation
import NeuralNet

/// Everything that defines a training run; recorded in the model card so the exact command
/// reproduces the weights.
public struct TrainingOptions: Sendable, Codable {
    public enum OptimizerKind: String, Sendable, Codable { case adam, sgd }
    public enum ReconstructionLoss: String, Sendable, Codable { case sse, bce }
    public enum KLReduction: String, Sendable, Codable { case sum, mean }

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

    public func makeOptimizer() -> any Optimizer {
        switch optimizer {
        case .adam: Adam(learningRate: learningRate, weightDecay: weightDecay)
        case .sgd: SGD(learningRate: learningRate, momentum: momentum, weightDecay: weightDecay)
        }
    }
}

/// One line of a training curve.
public struct EpochRecord: Sendable, Codable {
    public var epoch: Int
    public var trainLoss: Double
    /// Classifier: test accuracy. VAE: test loss.
    public var testMetric: Double
    public var seconds: Double
    public var imagesPerSecond: Double
}
