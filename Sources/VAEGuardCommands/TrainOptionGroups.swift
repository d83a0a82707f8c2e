import ArgumentParser
import Foundation
import Datasets
import Training

// The option groups that the `train` subcommands share. Each group writes its fields into
// `TrainingOptions` (`apply(to:)`) and checks its own values (`validate()`, which the parser
// calls for every `@OptionGroup`), so a subcommand lists only the groups that apply to it and an
// option it does not take is a parse error.

extension DatasetKind: ExpressibleByArgument {}
extension TrainingOptions.OptimizerKind: ExpressibleByArgument {}
extension TrainingOptions.ReconstructionLoss: ExpressibleByArgument {}
extension TrainingOptions.KLReduction: ExpressibleByArgument {}
extension TrainingOptions.AttackThrough: ExpressibleByArgument {}
extension AdversarialMethod: ExpressibleByArgument {}
extension ScheduleKind: ExpressibleByArgument {}

/// `8,11` → [8, 11]; the comma form is what scripts/train-models.sh passes, and "" is no milestones.
func parseIntegerList(_ text: String) throws -> [Int] {
    try text.split(separator: ",").map { part in
        guard let value = Int(part.trimmingCharacters(in: .whitespaces)) else {
            throw ValidationError("'\(part)' is not an integer (expected a comma-separated list such as 8,11)")
        }
        return value
    }
}

/// Where the images come from: a built-in dataset, and which slice of it.
struct DatasetOptions: ParsableArguments {
    @Option(help: "The built-in dataset.") var dataset: DatasetKind?
    @Option(help: "Datasets root (default: $VAEGUARD_DATASETS, else ../shared/datasets).") var datasets: String?
    @Option(help: "Use only the first N training images.") var trainLimit: Int?
    @Option(help: "Use only the first N test images.") var testLimit: Int?
    @Option var seed: UInt64 = 1

    func apply(to o: inout TrainingOptions) {
        o.trainLimit = trainLimit
        o.testLimit = testLimit
        o.seed = seed
    }
}

/// `--images DIR`: the user's own images instead of a built-in dataset (classifier, vae, patch-vae).
struct ImageFolderOptions: ParsableArguments {
    @Option(help: "Train on your own images instead: a folder of PNG/JPEG files (recursive); for classifier, one subfolder per class.")
    var images: String?
    @Option(help: "--images: 1 (gray) or 3 (RGB) channels (default 3).") var channels: Int?
    @Option(help: "--images: fraction of the images held out for the test metric.") var heldOut: Double = 0.1

    func validate() throws {
        if let channels, channels != 1 && channels != 3 { throw ValidationError("--channels: 1 (gray) or 3 (RGB)") }
    }

    /// The dataset or the folder must be named; with --images the dataset is unused.
    func requireSource(_ data: DatasetOptions) throws {
        guard data.dataset != nil || images != nil else {
            throw ValidationError("--dataset mnist or cifar10, or --images DIR")
        }
    }
}

/// Optimizer and learning-rate schedule.
struct OptimizerOptions: ParsableArguments {
    @Option var epochs: Int = 10
    @Option var batchSize: Int = 64
    @Option var optimizer: TrainingOptions.OptimizerKind = .adam
    @Option var learningRate: Float = 1e-3
    @Option(help: "Learning-rate schedule: step (--milestones, --gamma) or cyclic (one-cycle triangle peaking at 40 % of the epochs).")
    var schedule: ScheduleKind = .step
    @Option(help: "Comma-separated epochs at which the learning rate is multiplied by --gamma.", transform: parseIntegerList)
    var milestones: [Int] = []
    @Option var gamma: Float = 0.1
    @Option var momentum: Float = 0.9
    @Option(help: "L2 weight decay on weights (not biases).") var weightDecay: Float = 0

    func apply(to o: inout TrainingOptions) {
        o.epochs = epochs
        o.batchSize = batchSize
        o.optimizer = optimizer
        o.learningRate = learningRate
        o.scheduleKind = schedule
        o.milestones = milestones
        o.gamma = gamma
        o.momentum = momentum
        o.weightDecay = weightDecay
    }
}

/// Engine threads, the model written, and checkpoints.
struct OutputOptions: ParsableArguments {
    @Option(help: "Start from this model file's weights (fine-tuning).") var initialWeights: String?
    @Option(help: "Where the final model files go.") var output: String = "models"
    @Option(help: "Checkpoint directory.") var checkpoints: String = "checkpoints"
    @Option(help: "Name of the trained model (default: the architecture's).") var name: String?
    @Flag(help: "Continue from the last checkpoint.") var resume = false
    @Flag(help: "Store weights as float16 (compute stays float32).") var half = false
    @Option(help: "Model version recorded in the architecture file.") var modelVersion: String = "1.0.0"
    @Option(help: "Engine threads (default: all cores).") var threads: Int?

    func apply(to o: inout TrainingOptions) {
        o.initialWeights = initialWeights
        o.outputDirectory = output
        o.checkpointDirectory = checkpoints
        o.storeHalfPrecision = half
    }
}

/// The VAE objective: reconstruction loss + β·KL (vae, patch-vae, guided-vae, denoiser).
struct VAELossOptions: ParsableArguments {
    @Option(help: "VAE reconstruction loss (default sse).") var reconstruction: TrainingOptions.ReconstructionLoss?
    @Option(help: "VAE KL weight β.") var klWeight: Float = 0.01
    @Option(help: "KL reduction over latent dimensions (default sum).") var klReduction: TrainingOptions.KLReduction?

    func apply(to o: inout TrainingOptions) {
        o.klWeight = klWeight
        if let reconstruction { o.reconstructionLoss = reconstruction }
        if let klReduction { o.klReduction = klReduction }
    }
}

/// The training attack's radius and steps (adversarial classifier training and guided-vae).
struct AttackOptions: ParsableArguments {
    @Option(name: [.customLong("eps"), .customLong("attack-eps")],
            help: "The training attack's L∞ radius (pixels in [0, 1]).")
    var attackEps: Float = 0.3
    @Option(name: [.customLong("steps"), .customLong("attack-steps")], help: "The training attack's steps.")
    var attackSteps: Int = 10

    func validate() throws {
        guard attackEps > 0, attackSteps >= 1 else { throw ValidationError("--eps must be > 0 and --steps ≥ 1") }
    }

    func apply(to o: inout TrainingOptions) {
        o.attackEpsilon = attackEps
        o.attackSteps = attackSteps
    }
}

/// Adversarial classifier training (`train classifier --adversarial`).
struct AdversarialOptions: ParsableArguments {
    @Option(help: "Adversarial training: pgd (Madry), trades or fgsm-rs (Wong et al. 2020).") var adversarial: AdversarialMethod?
    @Option(help: "Adversarial training: step size (default 2.5·eps/steps; fgsm-rs 1.25·eps).") var stepSize: Float?
    @Option(help: "Adversarial training with trades: weight β of the KL term.") var tradesBeta: Float = 6
    @Option(help: "Adversarial training: how many of the LAST test images are attacked every epoch (evaluate uses the first ones).")
    var robustTestImages: Int = 500
    @Option(help: "Adversarial training: PGD steps of the per-epoch held-out attack.") var robustTestSteps: Int = 10
    @Option(help: "Adversarial training: stop when held-out robust accuracy falls this many points (0.2 = 20 %) below the best epoch; the best is kept.")
    var collapseDrop: Double = 0.2
    @Option(help: "Adversarial training: ramp the training ε linearly from 0 over this many epochs.") var epsWarmup: Double = 0

    func validate() throws {
        if let stepSize, stepSize <= 0 { throw ValidationError("--step-size must be > 0") }
        guard robustTestImages >= 1, robustTestSteps >= 1 else {
            throw ValidationError("--robust-test-images and --robust-test-steps must be ≥ 1")
        }
        guard epsWarmup >= 0 else { throw ValidationError("--eps-warmup must be ≥ 0") }
    }

    func apply(to o: inout TrainingOptions) {
        o.adversarial = adversarial
        o.attackStepSize = stepSize
        o.tradesBeta = tradesBeta
        o.robustTestImages = robustTestImages
        o.robustTestSteps = robustTestSteps
        o.collapseDrop = collapseDrop
        o.epsilonWarmupEpochs = epsWarmup
    }
}

/// Classifier-guided VAE fine-tuning (`train guided-vae`).
struct GuidedOptions: ParsableArguments {
    @Option(help: "The classifier model file whose verdict guides the VAE.") var guideClassifier: String?
    @Option(help: "Weight λ of the classifier's cross-entropy.") var guidanceWeight: Float = 1
    @Option(help: "Fraction of each batch replaced by adversarial images.") var adversarialFraction: Float = 0.5
    @Option(help: "Whom the training attack differentiates: classifier (oblivious) or pipeline (through the VAE being trained).")
    var attackThrough: TrainingOptions.AttackThrough = .classifier
    @Option(help: "With --attack-through pipeline: EOT noise draws per attack step.") var attackEot: Int = 1

    func validate() throws {
        guard attackEot >= 1 else { throw ValidationError("--attack-eot must be ≥ 1") }
    }

    func apply(to o: inout TrainingOptions) {
        o.guideClassifier = guideClassifier
        o.guidanceWeight = guidanceWeight
        o.adversarialFraction = adversarialFraction
        o.attackThrough = attackThrough
        o.attackEOT = attackEot
    }
}
