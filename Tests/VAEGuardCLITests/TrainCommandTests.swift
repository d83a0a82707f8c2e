import Testing
import ArgumentParser
import Foundation
import Datasets
import Service
import Training
@testable import VAEGuardCommands
import TestSupport

/// Command lines as scripts/train-models.sh, docs/MODELS.md and docs/RESULTS.md write them.
enum TrainLines {
    static let classifier = "train classifier --dataset mnist --epochs 12 --milestones 8 --resume --threads 1"
    static let classifierFinetune = """
        train classifier --dataset cifar10 --epochs 7 --batch-size 128 --augment --weight-decay 1e-4 \
        --learning-rate 2e-4 --milestones 3 --initial-weights models/cifar10-classifier.json --name cifar10-classifier \
        --checkpoints checkpoints/cifar-ft --model-version 1.1.0 --resume
        """
    static let robust = """
        train classifier --dataset mnist --adversarial pgd --eps 0.3 --steps 10 --step-size 0.04 \
        --eps-warmup 1 --optimizer adam --learning-rate 0.001 --milestones 8,11 --gamma 0.1 \
        --batch-size 100 --epochs 12 --robust-test-images 500 --robust-test-steps 10 --collapse-drop 0.2 \
        --name mnist-robust --output runs/mnist-robust --checkpoints checkpoints --model-version 1.0.0 --resume
        """
    static let noise = """
        train classifier --dataset cifar10 --initial-weights models/cifar10-classifier.json --noise-sigma 0.25 \
        --augment --epochs 10 --batch-size 128 --learning-rate 2e-4 --weight-decay 1e-4 --name cifar10-classifier-noise-0.25 --output runs/noise
        """
    static let fgsm = """
        train classifier --dataset cifar10 --arch preact18-w32 --adversarial fgsm-rs --eps 0.0313725 --schedule cyclic \
        --optimizer sgd --learning-rate 0.2 --augment --epochs 15
        """
    static let imagesClassifier = "train classifier --images /tmp/labelled --channels 3 --epochs 30 --name photos-classifier --output models"
    static let vae = """
        train vae --dataset cifar10 --epochs 40 --half --initial-weights models/cifar10-vae.json --name cifar10-vae \
        --checkpoints checkpoints/cifar10-vae-1.2 --output runs/cifar10-vae-1.2 --model-version 1.2.0 --resume
        """
    static let vaeBeta = "train vae --dataset mnist --epochs 3 --kl-weight 0.1 --name mnist-vae-beta --resume"
    static let patchVAE = """
        train patch-vae --dataset mnist --patch 16 --latent 64 --width 2 --epochs 2 --reconstruction bce \
        --kl-reduction mean --output runs/patch16 --checkpoints runs/patch16-ck --threads 1 --resume
        """
    static let imagesPatchVAE = """
        train patch-vae --images /tmp/photos --channels 3 --image-size 64 --patch 8 --latent 128 --epochs 20 \
        --name patch-vae-photos --output models
        """
    static let guidedVAE = """
        train guided-vae --dataset mnist --initial-weights models/mnist-vae.json \
        --guide-classifier models/mnist-classifier.json --attack-through pipeline --attack-eot 1 \
        --attack-eps 0.3 --attack-steps 10 --guidance-weight 1 --adversarial-fraction 0.5 \
        --learning-rate 1e-4 --epochs 1 --train-limit 20000 --name mnist-vae-guided-pipeline --output runs/guided
        """
    static let denoiser = """
        train denoiser --dataset mnist --initial-weights models/mnist-vae.json --classifier models/mnist-classifier.json \
        --noise-sigma 0.25 --epochs 5 --output runs/denoiser
        """
    static let all = [classifier, classifierFinetune, robust, noise, fgsm, imagesClassifier, vae, vaeBeta,
                      patchVAE, imagesPatchVAE, guidedVAE, denoiser]

    static func arguments(_ line: String) -> [String] { line.split(separator: " ").map(String.init) }
}

/// Parses a `vaeguard …` command line (without `vaeguard`) as the executable does.
func parse(_ line: String) throws -> any ParsableCommand {
    try VAEGuardCommand.parseAsRoot(TrainLines.arguments(line))
}

/// The message `vaeguard` prints for a command line that does not parse (nil when it parses).
func parseFailure(_ line: String) -> String? {
    do {
        _ = try parse(line)
        return nil
    } catch {
        return VAEGuardCommand.message(for: error)
    }
}

/// JSON with sorted keys: `TrainingOptions` is Codable, not Equatable.
func canonical(_ options: TrainingOptions) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return String(decoding: try encoder.encode(options), as: UTF8.self)
}

@Suite("vaeguard train: the command tree", .computeBound)
struct TrainCommandTests {
    @Test("each subcommand parses the lines the scripts and docs use", arguments: TrainLines.all)
    func parsesDocumentedLines(line: String) throws {
        let command = try parse(line)
        let job = try #require(command as? any TrainJob)
        let name = TrainLines.arguments(line)[1]
        #expect(type(of: job).configuration.commandName == name)
    }

    @Test("each subcommand builds the TrainingOptions that the flat command built", arguments: TrainLines.all)
    func sameTrainingOptionsAsBefore(line: String) throws {
        let job = try #require(try parse(line) as? any TrainJob)
        let legacy = try LegacyTrainArguments.parse(Array(TrainLines.arguments(line).dropFirst()))
        #expect(try canonical(job.trainingOptions()) == canonical(legacy.trainingOptions()))
    }

    @Test("--milestones keeps the comma form")
    func milestones() throws {
        let robust = try #require(try parse(TrainLines.robust) as? TrainClassifierCommand)
        #expect(robust.optimizer.milestones == [8, 11])
        #expect(robust.trainingOptions().milestones == [8, 11])
        let single = try #require(try parse(TrainLines.classifier) as? TrainClassifierCommand)
        #expect(single.optimizer.milestones == [8])
        let none = try #require(try parse("train vae --dataset mnist") as? TrainVAECommand)
        #expect(none.optimizer.milestones.isEmpty)
        let failure = try #require(parseFailure("train classifier --dataset mnist --milestones 8,x"))
        #expect(failure.contains("'x' is not an integer"))
    }

    @Test("typed enums: values arrive as enums")
    func enums() throws {
        let fgsm = try #require(try parse(TrainLines.fgsm) as? TrainClassifierCommand)
        #expect(fgsm.adversarial.adversarial == .fgsmRS)
        #expect(fgsm.optimizer.optimizer == .sgd && fgsm.optimizer.schedule == .cyclic)
        #expect(fgsm.data.dataset == .cifar10)
        let patch = try #require(try parse(TrainLines.patchVAE) as? TrainPatchVAECommand)
        #expect(patch.loss.reconstruction == .bce && patch.loss.klReduction == .mean)
        let guided = try #require(try parse(TrainLines.guidedVAE) as? TrainGuidedVAECommand)
        #expect(guided.guided.attackThrough == .pipeline)
    }

    @Test("a bad enum value is rejected with the valid values", arguments: [
        ("train classifier --dataset mnist --optimizer rmsprop", ["rmsprop", "adam", "sgd"]),
        ("train classifier --dataset mnist --schedule cosine", ["cosine", "step", "cyclic"]),
        ("train classifier --dataset mnist --adversarial cw", ["'cw'", "pgd", "trades", "fgsm-rs"]),
        ("train classifier --dataset imagenet", ["imagenet", "mnist", "cifar10"]),
        ("train vae --dataset mnist --reconstruction l1", ["l1", "sse", "bce"]),
        ("train patch-vae --dataset mnist --kl-reduction max", ["max", "sum", "mean"]),
        ("train guided-vae --dataset mnist --attack-through vae", ["'vae'", "classifier", "pipeline"]),
    ])
    func badEnumValue(line: String, mentions: [String]) throws {
        #expect(throws: (any Error).self) { try parse(line) }
        let message = try #require(parseFailure(line))
        for word in mentions { #expect(message.contains(word), "\(message)") }
    }

    /// (An otherwise complete line: the parser reports a failed `validate()` before unknown options.)
    @Test("an option of another job is a parse error, not silently ignored", arguments: [
        ("train classifier --dataset mnist --guide-classifier models/c.json", "--guide-classifier"),
        ("train classifier --dataset mnist --attack-through pipeline", "--attack-through"),
        ("train classifier --dataset mnist --latent 64", "--latent"),
        ("train vae --dataset mnist --adversarial pgd", "--adversarial"),
        ("train vae --dataset mnist --augment", "--augment"),
        ("train patch-vae --dataset mnist --noise-sigma 0.25", "--noise-sigma"),
        ("train guided-vae --dataset mnist --initial-weights v.json --guide-classifier c.json --images /tmp/x", "--images"),
        ("train denoiser --dataset mnist --initial-weights v.json --classifier c.json --noise-sigma 0.5 --step-size 1", "--step-size"),
        ("train vae --dataset mnist --image-size 64", "--image-size"),
    ])
    func foreignOptionRejected(line: String, option: String) throws {
        #expect(throws: (any Error).self) { try parse(line) }
        let message = try #require(parseFailure(line))
        #expect(message.contains("Unknown option '\(option)'"), "\(message)")
    }

    @Test("checks run in validate(), before any data is loaded", arguments: [
        ("train classifier --epochs 1", "--dataset mnist or cifar10, or --images DIR"),
        ("train classifier --dataset mnist --arch resnet20-w16", "--arch"),
        ("train classifier --dataset mnist --adversarial pgd --eps 0", "--eps must be > 0"),
        ("train classifier --dataset mnist --step-size=-1", "--step-size must be > 0"),
        ("train classifier --dataset mnist --noise-sigma=-1", "--noise-sigma must be ≥ 0"),
        ("train classifier --images /tmp/x --channels 2", "--channels: 1 (gray) or 3 (RGB)"),
        ("train patch-vae --images /tmp/x --image-size 4 --patch 8", "--image-size 4 is smaller than --patch 8"),
        ("train guided-vae --dataset mnist --initial-weights v.json", "--guide-classifier"),
        ("train guided-vae --dataset mnist --initial-weights v.json --guide-classifier c.json --attack-eot 0", "--attack-eot"),
        ("train denoiser --dataset mnist --initial-weights v.json --classifier c.json", "--noise-sigma > 0"),
    ])
    func validation(line: String, expected: String) throws {
        let message = try #require(parseFailure(line))
        #expect(message.contains(expected), "\(message)")
    }

    @Test("help lists only the options a job takes, with the enum values")
    func helpText() {
        let classifier = VAEGuardCommand.helpMessage(for: TrainClassifierCommand.self)
        #expect(classifier.contains("--adversarial <adversarial>"))
        #expect(classifier.contains("values: pgd, trades, fgsm-rs"))
        #expect(classifier.contains("--milestones <milestones>"))
        #expect(!classifier.contains("--guide-classifier"))
        #expect(!classifier.contains("--kl-weight"))
        let guided = VAEGuardCommand.helpMessage(for: TrainGuidedVAECommand.self)
        #expect(guided.contains("--guide-classifier <guide-classifier>"))
        #expect(guided.contains("values: classifier, pipeline"))
        #expect(!guided.contains("--adversarial <adversarial>"))
        #expect(!guided.contains("--images"))
        let group = VAEGuardCommand.helpMessage(for: TrainCommand.self)
        for name in ["classifier", "vae", "patch-vae", "guided-vae", "denoiser"] { #expect(group.contains("  \(name)")) }
    }

    @Test("vaeguard --version prints the service's version constant")
    func version() throws {
        #expect(VAEGuardCommand.configuration.version == VAEGuardVersion.string)
        #expect(throws: (any Error).self) { try VAEGuardCommand.parseAsRoot(["--version"]) }
        do {
            _ = try VAEGuardCommand.parseAsRoot(["--version"])
        } catch {
            #expect(VAEGuardCommand.message(for: error) == VAEGuardVersion.string)
        }
    }
}
