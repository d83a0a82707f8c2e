import ArgumentParser
import Foundation
import NeuralNet
import Datasets
import Models
import Training

/// `vaeguard train classifier|vae|patch-vae … --images DIR`: training on the user's own images (`ImageFolder`).
///
///   vaeguard train patch-vae --images photos/ --channels 3 --image-size 64 --patch 8 --name patch-vae-photos
///   vaeguard train classifier --images labelled/ --channels 3 --name photos-classifier   # DIR/<class>/*.png|jpg
///
/// The classifiers and whole-image VAEs are the paper's architectures, so images are resized
/// to 28×28 (one channel) or 32×32 (three); the classifier gets one output per class folder and
/// the folder names as labels. The patch VAE learns from patches of images resized to
/// `--image-size` (default 64), so it purifies images of any size afterwards.
protocol ImageTrainJob: TrainJob {
    /// The subcommand's name, used in default model names (`<folder>-<job>`).
    static var job: String { get }
    var imageFolder: ImageFolderOptions { get }
    /// The architecture for `channels`-channel images and the square side they are resized to.
    func imageArchitecture(channels: Int) throws -> (ModelArchitecture, side: Int)
}

extension ImageTrainJob {
    func run() throws {
        try withEngine {
            let options = trainingOptions()
            if let images = imageFolder.images { return try runOnImages(URL(fileURLWithPath: images), options: options) }
            try runOnDataset(options: options)
        }
    }

    func runOnImages(_ directory: URL, options: TrainingOptions) throws {
        let channels = imageFolder.channels ?? 3
        let labeled = Self.job == TrainClassifierCommand.job
        let folder = directory.lastPathComponent
        let (base, side) = try imageArchitecture(channels: channels)
        var arch = base
        let (train, test) = try ImageFolder.load(directory, height: side, width: side, channels: channels,
                                                 labeled: labeled, heldOut: imageFolder.heldOut, seed: data.seed)
        if labeled { arch = withClasses(arch, labels: train.classNames) }
        arch.name = Self.job == TrainPatchVAECommand.job ? "patch-vae-\(folder)" : "\(folder)-\(Self.job)"
        arch.weights = "\(arch.name).safetensors"
        arch = finish(arch, provenance: ["images": directory.path])
        print("data: \(train.count) training and \(test.count) held-out images (\(side)×\(side)×\(channels)) from \(directory.path)"
              + (labeled ? ", classes \(train.classNames.joined(separator: ", "))" : ""))
        let start = Date()
        let url = try self.train(arch, with: Trainer(options: options), train: train, test: test)
        print(String(format: "done in %.0f s: %@", Date().timeIntervalSince(start), url.path))
    }

    /// The architecture with its last dense layer resized to one output per class.
    func withClasses(_ architecture: ModelArchitecture, labels: [String]) -> ModelArchitecture {
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
