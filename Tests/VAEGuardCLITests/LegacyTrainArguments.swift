import ArgumentParser
import Foundation
import Training

/// The flat `train` command as it was before the command tree (commit fc9d2e7), frozen here so
/// that tests can check each subcommand builds the same `TrainingOptions` for the same line.
struct LegacyTrainArguments: ParsableArguments {
    enum What: String, ExpressibleByArgument, CaseIterable {
        case classifier, vae, patchVAE = "patch-vae", guidedVAE = "guided-vae", denoiser
    }

    @Argument var what: What

    @Option(help: "mnist or cifar10 (or --images).")
    var dataset: String?

    @Option(help: "Train on your own images instead: a folder of PNG/JPEG files (recursive); for classifier, one subfolder per class.")
    var images: String?
    @Option(help: "--images: 1 (gray) or 3 (RGB) channels (default 3).") var channels: Int?
    @Option(help: "--images with patch-vae: images are resized to this square size first (default 64).") var imageSize: Int?
    @Option(help: "--images: fraction of the images held out for the test metric.") var heldOut: Double = 0.1

    @Option(help: "Datasets root (default: $VAEGUARD_DATASETS, else ../shared/datasets).")
    var datasets: String?

    @Option var epochs: Int = 10
    @Option var batchSize: Int = 64
    @Option(help: "adam or sgd.") var optimizer: String = "adam"
    @Option var learningRate: Float = 1e-3
    @Option(help: "Comma-separated epochs at which the learning rate is multiplied by --gamma.") var milestones: String = ""
    @Option var gamma: Float = 0.1
    @Option var momentum: Float = 0.9
    @Option(help: "L2 weight decay on weights (not biases).") var weightDecay: Float = 0
    @Option var seed: UInt64 = 1
    @Flag(help: "Random crop (pad 4) and horizontal flip.") var augment = false
    @Option(help: "Use only the first N training images.") var trainLimit: Int?
    @Option(help: "Use only the first N test images.") var testLimit: Int?
    @Option(help: "VAE reconstruction loss: sse or bce.") var reconstruction: String?
    @Option(help: "VAE KL weight β.") var klWeight: Float = 0.01
    @Option(help: "KL reduction over latent dimensions: sum or mean.") var klReduction: String?
    @Option(help: "Latent dimension (VAEs; default from the paper's architecture).") var latent: Int?
    @Option(help: "Patch size (patch-vae).") var patch: Int = 8
    @Option(help: "Filter-count divisor for the patch VAE (1 = the paper's 128/64/32).") var width: Int = 1
    @Option(help: "Patches per epoch (patch-vae).") var patchesPerEpoch: Int = 100_000
    @Option(help: "Where the final model files go.") var output: String = "models"
    @Option(help: "Checkpoint directory.") var checkpoints: String = "checkpoints"
    @Option(help: "Classifier: a VAE model file whose reconstructions replace part of each batch (purifier-aware training).")
    var purifierVae: String?
    @Option(help: "Fraction of each batch replaced by VAE reconstructions (with --purifier-vae).") var purifiedFraction: Float = 0.5
    @Option(help: "Start from this model file's weights (fine-tuning).") var initialWeights: String?
    @Option(help: "guided-vae: the classifier model file whose verdict guides the VAE.") var guideClassifier: String?
    @Option(help: "guided-vae: weight λ of the classifier's cross-entropy.") var guidanceWeight: Float = 1
    @Option(name: [.customLong("eps"), .customLong("attack-eps")],
            help: "guided-vae and adversarial training: the training attack's L∞ radius (pixels in [0, 1]).")
    var attackEps: Float = 0.3
    @Option(name: [.customLong("steps"), .customLong("attack-steps")],
            help: "guided-vae and adversarial training (pgd, trades): the training attack's steps.")
    var attackSteps: Int = 10
    @Option(help: "classifier: adversarial training: pgd (Madry), trades or fgsm-rs (Wong et al. 2020).") var adversarial: String?
    @Option(help: "Adversarial training: step size (default 2.5·eps/steps; fgsm-rs 1.25·eps).") var stepSize: Float?
    @Option(help: "Adversarial training with trades: weight β of the KL term.") var tradesBeta: Float = 6
    @Option(help: "Adversarial training: how many of the LAST test images are attacked every epoch (evaluate uses the first ones).") var robustTestImages: Int = 500
    @Option(help: "Adversarial training: PGD steps of the per-epoch held-out attack.") var robustTestSteps: Int = 10
    @Option(help: "Adversarial training: stop when held-out robust accuracy falls this many points (0.2 = 20 %) below the best epoch; the best is kept.")
    var collapseDrop: Double = 0.2
    @Option(help: "Adversarial training: ramp the training ε linearly from 0 over this many epochs.") var epsWarmup: Double = 0
    @Option(help: "Learning-rate schedule: step (--milestones, --gamma) or cyclic (one-cycle triangle peaking at 40 % of the epochs).")
    var schedule: String = "step"
    @Option(help: "guided-vae: fraction of each batch replaced by adversarial images.") var adversarialFraction: Float = 0.5
    @Option(help: "guided-vae: whom the training attack differentiates: classifier (oblivious) or pipeline (through the VAE being trained).")
    var attackThrough: String = "classifier"
    @Option(help: "guided-vae with --attack-through pipeline: EOT noise draws per attack step.") var attackEot: Int = 1
    @Option(help: "classifier: a residual architecture instead of the paper's: resnet<6n+2>-w<width> (resnet20-w16 = ResNet-20) or preact18-w<width> (CIFAR-10).")
    var arch: String?
    @Option(help: "classifier: Gaussian noise augmentation σ (randomized smoothing); denoiser: the noise to remove.")
    var noiseSigma: Float = 0
    @Option(help: "denoiser: the frozen classifier model file f.") var classifier: String?
    @Option(help: "denoiser: weight λ of the stability loss CE(f(D(x+δ)), argmax f(x)).") var stabilityWeight: Float = 1
    @Option(help: "Name of the trained model (default: the architecture's).") var name: String?
    @Flag(help: "Continue from the last checkpoint.") var resume = false
    @Flag(help: "Store weights as float16 (compute stays float32).") var half = false
    @Option(help: "Model version recorded in the architecture file.") var modelVersion: String = "1.0.0"
    @Option(help: "Engine threads (default: all cores).") var threads: Int?

    /// Today's (flat) mapping from the options to `TrainingOptions`, verbatim.
    func trainingOptions() throws -> TrainingOptions {
        var o = TrainingOptions()
        o.epochs = epochs
        o.batchSize = batchSize
        guard let opt = TrainingOptions.OptimizerKind(rawValue: optimizer) else { throw ValidationError("--optimizer: adam or sgd") }
        o.optimizer = opt
        o.learningRate = learningRate
        o.milestones = milestones.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        o.gamma = gamma
        o.momentum = momentum
        o.weightDecay = weightDecay
        o.seed = seed
        o.augment = augment
        o.trainLimit = trainLimit
        o.testLimit = testLimit
        o.klWeight = klWeight
        o.patchesPerEpoch = patchesPerEpoch
        o.outputDirectory = output
        o.checkpointDirectory = checkpoints
        o.storeHalfPrecision = half
        o.purifierVAE = purifierVae
        o.purifiedFraction = purifiedFraction
        o.initialWeights = initialWeights
        o.guideClassifier = guideClassifier
        o.guidanceWeight = guidanceWeight
        o.attackEpsilon = attackEps
        o.attackSteps = attackSteps
        o.adversarialFraction = adversarialFraction
        guard let through = TrainingOptions.AttackThrough(rawValue: attackThrough) else {
            throw ValidationError("--attack-through: classifier or pipeline")
        }
        o.attackThrough = through
        guard attackEot >= 1 else { throw ValidationError("--attack-eot must be ≥ 1") }
        o.attackEOT = attackEot
        if let adversarial {
            guard let method = AdversarialMethod(rawValue: adversarial) else { throw ValidationError("--adversarial: pgd, trades or fgsm-rs") }
            guard what == .classifier else { throw ValidationError("--adversarial applies to `train classifier`") }
            o.adversarial = method
        }
        guard attackEps > 0, attackSteps >= 1 else { throw ValidationError("--eps must be > 0 and --steps ≥ 1") }
        if let stepSize, stepSize <= 0 { throw ValidationError("--step-size must be > 0") }
        o.attackStepSize = stepSize
        o.tradesBeta = tradesBeta
        guard robustTestImages >= 1, robustTestSteps >= 1 else { throw ValidationError("--robust-test-images and --robust-test-steps must be ≥ 1") }
        o.robustTestImages = robustTestImages
        o.robustTestSteps = robustTestSteps
        o.collapseDrop = collapseDrop
        guard epsWarmup >= 0 else { throw ValidationError("--eps-warmup must be ≥ 0") }
        o.epsilonWarmupEpochs = epsWarmup
        guard let scheduleKind = ScheduleKind(rawValue: schedule) else { throw ValidationError("--schedule: step or cyclic") }
        o.scheduleKind = scheduleKind
        guard noiseSigma >= 0, noiseSigma.isFinite else { throw ValidationError("--noise-sigma must be ≥ 0") }
        o.noiseSigma = noiseSigma
        o.stabilityWeight = stabilityWeight
        if let reconstruction {
            guard let r = TrainingOptions.ReconstructionLoss(rawValue: reconstruction) else { throw ValidationError("--reconstruction: sse or bce") }
            o.reconstructionLoss = r
        }
        if let klReduction {
            guard let r = TrainingOptions.KLReduction(rawValue: klReduction) else { throw ValidationError("--kl-reduction: sum or mean") }
            o.klReduction = r
        }
        return o
    }
}
