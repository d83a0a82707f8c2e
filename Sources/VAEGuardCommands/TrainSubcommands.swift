import ArgumentParser
import Foundation
import Datasets
import Models
import NeuralNet
import Training

/// `vaeguard train classifier`: the paper's classifier (or --arch), optionally adversarial,
/// purifier-aware (--purifier-vae) or noise-augmented (--noise-sigma).
struct TrainClassifierCommand: ImageTrainJob {
    static let configuration = CommandConfiguration(
        commandName: "classifier",
        abstract: "Train a classifier (the paper's, or --arch); adversarially with --adversarial.",
        discussion: """
        --adversarial: every batch is attacked (pgd, fgsm-rs) or joined by TRADES's adversarial \
        images; each epoch logs PGD accuracy on --robust-test-images held-out images and the \
        run stops, keeping the best epoch, if it falls by more than --collapse-drop.
        --noise-sigma adds N(0, σ²) to every training input (Cohen et al. 2019) and records noise_sigma in the \
        model card (the service's default σ).
        """)

    @OptionGroup(title: "Data") var data: DatasetOptions
    @OptionGroup(title: "Own images") var imageFolder: ImageFolderOptions
    @OptionGroup(title: "Optimizer") var optimizer: OptimizerOptions
    @OptionGroup(title: "Model and engine") var model: OutputOptions
    @OptionGroup(title: "Training attack") var attack: AttackOptions
    @OptionGroup(title: "Adversarial training") var adversarial: AdversarialOptions

    @Flag(help: "Random crop (pad 4) and horizontal flip.") var augment = false
    @Option(help: "A residual architecture instead of the paper's: resnet<6n+2>-w<width> (resnet20-w16 = ResNet-20) or preact18-w<width> (CIFAR-10).")
    var arch: String?
    @Option(help: "A VAE model file whose reconstructions replace part of each batch (purifier-aware training).")
    var purifierVae: String?
    @Option(help: "Fraction of each batch replaced by VAE reconstructions (with --purifier-vae).") var purifiedFraction: Float = 0.5
    @Option(help: "Gaussian noise augmentation σ (randomized smoothing).") var noiseSigma: Float = 0

    static let job = "classifier"

    func validate() throws {
        try imageFolder.requireSource(data)
        guard noiseSigma >= 0, noiseSigma.isFinite else { throw ValidationError("--noise-sigma must be ≥ 0") }
        if let arch {
            guard imageFolder.images == nil else { throw ValidationError("--arch applies to --dataset cifar10, not --images") }
            guard data.dataset == .cifar10, RobustArchitectures.named(arch) != nil else {
                throw ValidationError("--arch: resnet<6n+2>-w<width> or preact18-w<width>, for cifar10")
            }
        }
    }

    func trainingOptions() -> TrainingOptions {
        var o = commonOptions()
        attack.apply(to: &o)
        adversarial.apply(to: &o)
        o.augment = augment
        o.purifierVAE = purifierVae
        o.purifiedFraction = purifiedFraction
        o.noiseSigma = noiseSigma
        return o
    }

    func architecture(for kind: DatasetKind, train: LabeledImages) throws -> ModelArchitecture {
        if let arch, let robust = RobustArchitectures.named(arch) { return robust }
        return kind == .mnist ? PaperArchitectures.mnistClassifier() : PaperArchitectures.cifarClassifier()
    }

    func imageArchitecture(channels: Int) throws -> (ModelArchitecture, side: Int) {
        channels == 1 ? (PaperArchitectures.mnistClassifier(), 28) : (PaperArchitectures.cifarClassifier(), 32)
    }

    func train(_ arch: ModelArchitecture, with trainer: Trainer, train: LabeledImages, test: LabeledImages) throws -> URL {
        try trainer.trainClassifier(arch, train: train, test: test, resume: model.resume).url
    }
}

/// `vaeguard train vae`: the paper's whole-image VAE.
struct TrainVAECommand: ImageTrainJob {
    static let configuration = CommandConfiguration(commandName: "vae", abstract: "Train the paper's whole-image VAE.")

    @OptionGroup(title: "Data") var data: DatasetOptions
    @OptionGroup(title: "Own images") var imageFolder: ImageFolderOptions
    @OptionGroup(title: "Optimizer") var optimizer: OptimizerOptions
    @OptionGroup(title: "Model and engine") var model: OutputOptions
    @OptionGroup(title: "VAE objective") var loss: VAELossOptions
    @Option(help: "Latent dimension (default 256 for MNIST / one channel, 1024 for CIFAR-10 / three).") var latent: Int?
    @Option(help: "A classifier model file: its test accuracy on sampled reconstructions joins the curve (purified_accuracy).")
    var monitorClassifier: String?
    @Option(help: "Measure --monitor-classifier every N epochs (and at the last).") var monitorEvery: Int = 2
    @Option(help: "With --initial-weights: that run's .curve.csv; its epochs open this run's curve and count towards --epochs.")
    var priorCurve: String?

    static let job = "vae"

    func validate() throws {
        try imageFolder.requireSource(data)
        guard monitorEvery >= 1 else { throw ValidationError("--monitor-every must be at least 1") }
        guard priorCurve == nil || model.initialWeights != nil else {
            throw ValidationError("--prior-curve continues the curve of --initial-weights; give both")
        }
    }

    func trainingOptions() -> TrainingOptions {
        var o = commonOptions()
        loss.apply(to: &o)
        o.monitorClassifier = monitorClassifier
        o.monitorEvery = monitorEvery
        o.priorCurve = priorCurve
        return o
    }

    func architecture(for kind: DatasetKind, train: LabeledImages) throws -> ModelArchitecture {
        kind == .mnist ? PaperArchitectures.mnistVAE(latent: latent ?? 256) : PaperArchitectures.cifarVAE(latent: latent ?? 1024)
    }

    func imageArchitecture(channels: Int) throws -> (ModelArchitecture, side: Int) {
        channels == 1 ? (PaperArchitectures.mnistVAE(latent: latent ?? 256), 28) : (PaperArchitectures.cifarVAE(latent: latent ?? 1024), 32)
    }

    func train(_ arch: ModelArchitecture, with trainer: Trainer, train: LabeledImages, test: LabeledImages) throws -> URL {
        try trainer.trainVAE(arch, train: train, test: test, patch: nil, resume: model.resume).url
    }
}

/// `vaeguard train patch-vae`: a VAE on random patches, so it purifies images of any size.
struct TrainPatchVAECommand: ImageTrainJob {
    static let configuration = CommandConfiguration(
        commandName: "patch-vae", abstract: "Train a patch VAE on random --patch × --patch crops.")

    @OptionGroup(title: "Data") var data: DatasetOptions
    @OptionGroup(title: "Own images") var imageFolder: ImageFolderOptions
    @OptionGroup(title: "Optimizer") var optimizer: OptimizerOptions
    @OptionGroup(title: "Model and engine") var model: OutputOptions
    @OptionGroup(title: "VAE objective") var loss: VAELossOptions
    @Option(help: "Latent dimension.") var latent: Int = 128
    @Option(help: "Patch size.") var patch: Int = 8
    @Option(help: "Filter-count divisor (1 = the paper's 128/64/32).") var width: Int = 1
    @Option(help: "Patches per epoch.") var patchesPerEpoch: Int = 100_000
    @Option(help: "--images: images are resized to this square size first.") var imageSize: Int = 64

    static let job = "patch-vae"

    func validate() throws {
        try imageFolder.requireSource(data)
        if imageFolder.images != nil, imageSize < patch {
            throw ValidationError("--image-size \(imageSize) is smaller than --patch \(patch)")
        }
    }

    func trainingOptions() -> TrainingOptions {
        var o = commonOptions()
        loss.apply(to: &o)
        o.patchesPerEpoch = patchesPerEpoch
        return o
    }

    func architecture(for kind: DatasetKind, train: LabeledImages) throws -> ModelArchitecture {
        PaperArchitectures.patchVAE(patch: patch, channels: train.channels, latent: latent, width: width)
    }

    func imageArchitecture(channels: Int) throws -> (ModelArchitecture, side: Int) {
        (PaperArchitectures.patchVAE(patch: patch, channels: channels, latent: latent, width: width), imageSize)
    }

    func train(_ arch: ModelArchitecture, with trainer: Trainer, train: LabeledImages, test: LabeledImages) throws -> URL {
        try trainer.trainVAE(arch, train: train, test: test, patch: patch, resume: model.resume).url
    }
}

/// `vaeguard train guided-vae`: fine-tunes a VAE so the classifier is right on its reconstructions.
struct TrainGuidedVAECommand: TrainJob {
    static let configuration = CommandConfiguration(
        commandName: "guided-vae",
        abstract: "Fine-tune a VAE guided by the classifier's verdict on its reconstructions.",
        discussion: """
        Fine-tunes the VAE in --initial-weights (its architecture too) on batches where \
        --adversarial-fraction of the images are PGD attacks on the classifier; the loss adds \
        --guidance-weight × the classifier's cross-entropy on the reconstruction.
        """)

    @OptionGroup(title: "Data") var data: DatasetOptions
    @OptionGroup(title: "Optimizer") var optimizer: OptimizerOptions
    @OptionGroup(title: "Model and engine") var model: OutputOptions
    @OptionGroup(title: "VAE objective") var loss: VAELossOptions
    @OptionGroup(title: "Training attack") var attack: AttackOptions
    @OptionGroup(title: "Guidance") var guided: GuidedOptions

    func validate() throws {
        guard data.dataset != nil else { throw ValidationError("guided-vae trains on --dataset mnist or cifar10") }
        guard model.initialWeights != nil, guided.guideClassifier != nil else {
            throw ValidationError("guided-vae needs --initial-weights (the VAE to fine-tune) and --guide-classifier")
        }
    }

    func trainingOptions() -> TrainingOptions {
        var o = commonOptions()
        loss.apply(to: &o)
        attack.apply(to: &o)
        guided.apply(to: &o)
        return o
    }

    func architecture(for kind: DatasetKind, train: LabeledImages) throws -> ModelArchitecture {
        try Self.fineTuned(model.initialWeights ?? "", suffix: "-guided")
    }

    func train(_ arch: ModelArchitecture, with trainer: Trainer, train: LabeledImages, test: LabeledImages) throws -> URL {
        let classifier = try Self.loadClassifier(guided.guideClassifier ?? "", option: "--guide-classifier")
        return try trainer.trainGuidedVAE(arch, classifier: classifier, train: train, test: test, resume: model.resume).url
    }
}

/// `vaeguard train denoiser`: fine-tunes a VAE to undo Gaussian noise for randomized smoothing.
struct TrainDenoiserCommand: TrainJob {
    static let configuration = CommandConfiguration(
        commandName: "denoiser",
        abstract: "Fine-tune a VAE into a Gaussian denoiser for a frozen classifier (randomized smoothing).",
        discussion: """
        Fine-tunes the VAE in --initial-weights to map x + δ to x with the MSE objective plus \
        --stability-weight × CE(f(D(x + δ)), argmax f(x)) (Salman et al. 2020), f frozen.
        """)

    @OptionGroup(title: "Data") var data: DatasetOptions
    @OptionGroup(title: "Optimizer") var optimizer: OptimizerOptions
    @OptionGroup(title: "Model and engine") var model: OutputOptions
    @OptionGroup(title: "VAE objective") var loss: VAELossOptions
    @Option(help: "The frozen classifier model file f.") var classifier: String?
    @Option(help: "The noise σ to remove.") var noiseSigma: Float = 0
    @Option(help: "Weight λ of the stability loss CE(f(D(x+δ)), argmax f(x)).") var stabilityWeight: Float = 1

    func validate() throws {
        guard data.dataset != nil else { throw ValidationError("denoiser trains on --dataset mnist or cifar10") }
        guard noiseSigma >= 0, noiseSigma.isFinite else { throw ValidationError("--noise-sigma must be ≥ 0") }
        guard model.initialWeights != nil, classifier != nil, noiseSigma > 0 else {
            throw ValidationError("denoiser needs --initial-weights (the VAE to fine-tune), --classifier and --noise-sigma > 0")
        }
    }

    func trainingOptions() -> TrainingOptions {
        var o = commonOptions()
        loss.apply(to: &o)
        o.noiseSigma = noiseSigma
        o.stabilityWeight = stabilityWeight
        return o
    }

    func architecture(for kind: DatasetKind, train: LabeledImages) throws -> ModelArchitecture {
        try Self.fineTuned(model.initialWeights ?? "", suffix: "-denoiser-\(noiseSigma)")
    }

    func train(_ arch: ModelArchitecture, with trainer: Trainer, train: LabeledImages, test: LabeledImages) throws -> URL {
        let frozen = try Self.loadClassifier(classifier ?? "", option: "--classifier")
        return try trainer.trainDenoiser(arch, classifier: frozen, train: train, test: test, resume: model.resume).url
    }
}
