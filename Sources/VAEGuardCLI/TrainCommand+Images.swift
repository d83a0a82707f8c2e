import ArgumentParser
import Foundation
import NeuralNet
import Datasets
import Models
import Training

/// `vaeguard train … --images DIR`: training on the user's own images (`ImageFolder`).
///
///   vaeguard train patch-vae --images photos/ --channels 3 --image-size 64 --patch 8 --name patch-vae-photos
///   vaeguard train classifier --images labelled/ --channels 3 --name photos-classifier   # DIR/<class>/*.png|jpg
///
/// The classifiers and whole-image VAEs are the paper's architectures, so images are resized
/// to 28×28 (one channel) or 32×32 (three); the classifier gets one output per class folder and
/// the folder names as labels. The patch VAE learns from patches of images resized to
/// `--image-size` (default 64), so it purifies images of any size afterwards.
extension TrainCommand {
    func runOnImages(_ directory: URL, options: TrainingOptions) throws {
        let channels = self.channels ?? 3
        guard channels == 1 || channels == 3 else { throw ValidationError("--channels: 1 (gray) or 3 (RGB)") }
        let folder = directory.lastPathComponent
        var arch: ModelArchitecture
        let side: Int
        switch what {
        case .classifier:
            side = channels == 1 ? 28 : 32
            arch = channels == 1 ? PaperArchitectures.mnistClassifier() : PaperArchitectures.cifarClassifier()
        case .vae:
            side = channels == 1 ? 28 : 32
            arch = channels == 1 ? PaperArchitectures.mnistVAE(latent: latent ?? 256) : PaperArchitectures.cifarVAE(latent: latent ?? 1024)
        case .patchVAE:
            side = imageSize ?? 64
            guard side >= patch else { throw ValidationError("--image-size \(side) is smaller than --patch \(patch)") }
            arch = PaperArchitectures.patchVAE(patch: patch, channels: channels, latent: latent ?? 128, width: width)
        case .guidedVAE, .denoiser:
            throw ValidationError("\(what.rawValue) trains on --dataset only")
        }
        if imageSize != nil && what != .patchVAE {
            throw ValidationError("--image-size applies to patch-vae; \(what.rawValue) takes \(side)×\(side) (the paper's architecture)")
        }
        let (train, test) = try ImageFolder.load(directory, height: side, width: side, channels: channels,
                                                 labeled: what == .classifier, heldOut: heldOut, seed: seed)
        if what == .classifier {
            arch = Self.withClasses(arch, labels: train.classNames)
        }
        let defaultName = what == .patchVAE ? "patch-vae-\(folder)" : "\(folder)-\(what.rawValue)"
        arch.name = name ?? defaultName
        arch.weights = "\(arch.name).safetensors"
        arch.version = modelVersion
        arch.metadata = ["command": "vaeguard " + CommandLine.arguments.dropFirst().joined(separator: " "), "images": directory.path]
        print("data: \(train.count) training and \(test.count) held-out images (\(side)×\(side)×\(channels)) from \(directory.path)"
              + (what == .classifier ? ", classes \(train.classNames.joined(separator: ", "))" : ""))
        let trainer = Trainer(options: options)
        let start = Date()
        let url: URL
        switch what {
        case .classifier: url = try trainer.trainClassifier(arch, train: train, test: test, resume: resume).url
        case .vae: url = try trainer.trainVAE(arch, train: train, test: test, patch: nil, resume: resume).url
        default: url = try trainer.trainVAE(arch, train: train, test: test, patch: patch, resume: resume).url
        }
        print(String(format: "done in %.0f s: %@", Date().timeIntervalSince(start), url.path))
    }

    /// The architecture with its last dense layer resized to one output per class.
    static func withClasses(_ architecture: ModelArchitecture, labels: [String]) -> ModelArchitecture {
        var arch = architecture
        if var layers = arch.layers, let last = layers.lastIndex(where: { if case .dense = $0 { true } else { false } }),
           case .dense(let inFeatures, _) = layers[last] {
            layers[last] = .dense(inFeatures: inFeatures, outFeatures: labels.count)
            arch.layers = layers
        }
        arch.labels = labels
        return arch
    }
}
