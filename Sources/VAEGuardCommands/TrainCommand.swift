import ArgumentParser
import Foundation
import Engine
import NeuralNet
import Datasets
import Models
import Purification
import Training

/// `vaeguard train classifier|vae|patch-vae|guided-vae|denoiser …`: one subcommand per job,
/// each taking only the option groups (TrainOptionGroups.swift) that apply to it.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a classifier, a whole-image VAE, a patch VAE, or fine-tune a VAE guided by the classifier; checkpoints and --resume.",
        discussion: """
        Examples:
          vaeguard train classifier --dataset mnist --epochs 10
          vaeguard train classifier --dataset mnist --adversarial pgd --eps 0.3 --steps 40 --step-size 0.01 \
            --name mnist-robust --epochs 20
          vaeguard train classifier --dataset cifar10 --adversarial fgsm-rs --eps 0.0314 --schedule cyclic \
            --optimizer sgd --learning-rate 0.2 --augment --epochs 15
          vaeguard train vae --dataset cifar10 --epochs 30 --batch-size 64
          vaeguard train patch-vae --dataset cifar10 --patch 8 --latent 128 --epochs 20
          vaeguard train guided-vae --dataset mnist --initial-weights models/mnist-vae.json \
            --guide-classifier models/mnist-classifier.json --attack-eps 0.3 --epochs 2 --output runs/guided
        Randomized smoothing (docs/API.md, certify=true):
          vaeguard train classifier --dataset mnist --noise-sigma 0.25 --name mnist-classifier-noise-0.25
          vaeguard train denoiser --dataset mnist --initial-weights models/mnist-vae.json \
            --classifier models/mnist-classifier.json --noise-sigma 0.25 --epochs 5 --output runs/denoiser
        `vaeguard train <job> --help` lists the options each job takes.
        """,
        subcommands: [TrainClassifierCommand.self, TrainVAECommand.self, TrainPatchVAECommand.self,
                      TrainGuidedVAECommand.self, TrainDenoiserCommand.self])
}

/// What a `train` subcommand adds to the shared run: its options, its architecture and its
/// trainer call. `runOnDataset` does the rest the same way for every job.
protocol TrainJob: ParsableCommand {
    var data: DatasetOptions { get }
    var optimizer: OptimizerOptions { get }
    var model: OutputOptions { get }
    /// The options handed to `Trainer`: everything that decides how training goes.
    func trainingOptions() -> TrainingOptions
    /// The architecture to train on a built-in dataset (`train` is already loaded).
    func architecture(for kind: DatasetKind, train: LabeledImages) throws -> ModelArchitecture
    /// Trains `arch` and returns the model file written.
    func train(_ arch: ModelArchitecture, with trainer: Trainer, train: LabeledImages, test: LabeledImages) throws -> URL
}

extension TrainJob {
    /// Jobs without --images (`ImageTrainJob` has its own `run`).
    func run() throws {
        try withEngine { try runOnDataset(options: trainingOptions()) }
    }

    /// The options of the groups every job has: data, optimizer, model and engine.
    func commonOptions() -> TrainingOptions {
        var o = TrainingOptions()
        data.apply(to: &o)
        optimizer.apply(to: &o)
        model.apply(to: &o)
        return o
    }

    /// Runs `body` with the engine threads asked for (`--threads`); they apply to image-folder runs too.
    func withEngine<R>(_ body: () throws -> R) rethrows -> R {
        var settings = ComputeSettings.current
        if let threads = model.threads { settings.parallelism = threads }
        BLASRuntime.setThreadCount(1)
        return try ComputeSettings.$current.withValue(settings, operation: body)
    }

    /// The name, version and provenance every trained model records.
    func finish(_ architecture: ModelArchitecture, provenance: [String: String]) -> ModelArchitecture {
        var arch = architecture
        arch.version = model.modelVersion
        if let name = model.name {
            arch.name = name
            arch.weights = "\(name).safetensors"
        }
        arch.metadata = ["command": "vaeguard " + CommandLine.arguments.dropFirst().joined(separator: " ")]
            .merging(provenance) { _, new in new }
        return arch
    }

    func runOnDataset(options: TrainingOptions) throws {
        guard let kind = data.dataset else { throw ValidationError("--dataset mnist or cifar10") }
        let root = try DatasetKind.locateRoot(explicit: data.datasets)
        let train = try kind.load(root: root, split: .train)
        let test = try kind.load(root: root, split: .test)
        print("BLAS kernel: \(BLASRuntime.summary); engine parallelism \(ComputeSettings.current.parallelism)")
        print("data: \(train.count) training and \(test.count) test images from \(root.path)")
        let arch = finish(try architecture(for: kind, train: train), provenance: ["dataset": kind.rawValue])
        let start = Date()
        _ = try self.train(arch, with: Trainer(options: options), train: train, test: test)
        print(String(format: "done in %.0f s", Date().timeIntervalSince(start)))
    }

    /// A fine-tuned copy of the model file's architecture, renamed `<name><suffix>`.
    static func fineTuned(_ path: String, suffix: String) throws -> ModelArchitecture {
        var arch = try ModelFile.load(URL(fileURLWithPath: path)).architecture
        arch.name += suffix
        arch.weights = "\(arch.name).safetensors"
        return arch
    }

    /// The classifier network in a model file (`option` names the flag in the error).
    static func loadClassifier(_ path: String, option: String) throws -> Sequential {
        do throws(ModelLoadError) { return try ModelLoader.classifier(at: URL(fileURLWithPath: path)) } catch .wrongKind {
            throw ValidationError("\(option) \(path) is not a classifier")
        }
    }
}
