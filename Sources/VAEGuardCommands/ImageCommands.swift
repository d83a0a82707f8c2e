import ArgumentParser
import Foundation
import Engine
import Imaging
import Models
import Purification
// Only for the configuration (model names, files and thresholds), which `serve` shares.
import Service

/// Options shared by `classify` and `purify`.
struct DefenseArguments: ParsableArguments {
    @Option(help: "Model: mnist or cifar10 (names from the configuration).")
    var model: String = "mnist"

    @Option(help: "Purifier: none, jpeg, vae or patch-vae (default: vae at the model's size, patch-vae otherwise).")
    var purifier: PurifierKind?

    @Option(help: "Number of purified samples averaged (K).")
    var samples: Int = 1

    @Option(help: "Ensemble mode for K > 1: reconstructions or probabilities.")
    var ensemble: DefenseOptions.Ensemble = .reconstructions

    @Flag(help: "Use the posterior mean instead of a random sample (deterministic).")
    var mean = false

    @Option(help: "JPEG quality for --purifier jpeg.")
    var quality: Int = 23

    @Option(help: "Patch stride for patch-vae (default: half the patch).")
    var stride: Int?

    @Option(help: "Seed for reproducible output (default: fresh randomness).")
    var seed: UInt64?

    @Option(help: "Configuration file (for model names and thresholds).")
    var config: String?

    func options(defaultPurifier: PurifierKind) -> DefenseOptions {
        DefenseOptions(purifier: purifier ?? defaultPurifier, samples: samples, ensemble: ensemble, sampling: mean ? .mean : .sample,
                       jpegQuality: quality, patchStride: stride, seed: seed)
    }

    /// The configured model called `--model`, loaded as `serve` loads it (`ModelLoader`).
    func loadModel() throws -> DefendedModel {
        let cfg = try ServiceConfiguration.resolve(file: config)
        guard let entry = cfg.models.entries.first(where: { $0.name == model }) else {
            throw ValidationError("unknown model '\(model)'")
        }
        guard let spec = entry.spec else { throw ValidationError("model '\(model)' is served by an upstream classifier") }
        guard let directory = ModelCatalog.locateDirectory(explicit: cfg.models.directory) else { throw ModelLoadError.noModelsFolder }
        return try ModelLoader(directory: directory).load(spec).model
    }
}

extension PurifierKind: ExpressibleByArgument {}
extension DefenseOptions.Ensemble: ExpressibleByArgument {}

/// `vaeguard classify IMAGE...`: purify and classify image files.
struct ClassifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "classify", abstract: "Purify and classify PNG or JPEG files.")

    @OptionGroup var defense: DefenseArguments
    @Option(help: "Labels to print per image.") var topK: Int = 3
    @Argument(help: "PNG or JPEG files.") var images: [String]

    func run() throws {
        let model = try defense.loadModel()
        let options = defense.options(defaultPurifier: .vae)
        let resolved = try ResolvedDefense(model: model, options: options)
        var rng = defense.seed.map(RandomSource.init(seed:)) ?? .fresh()
        for path in images {
            let image = try ImageDecoder.decode(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
            let x = try image.tensor(shape: model.inputShape)
            let r = try model.classify(x, defense: resolved, rng: &rng)[0]
            let top = r.probabilities.enumerated().sorted { $0.element > $1.element }.prefix(topK)
            print("\(path): " + top.map { String(format: "%@ %.4f", model.labels[$0.offset], $0.element) }.joined(separator: ", ")
                  + String(format: "  [purifier %@, reconstruction error %.5f%@]", options.purifier.rawValue, r.reconstructionError,
                           r.suspectedAdversarial ? ", SUSPECTED ADVERSARIAL" : ""))
        }
    }
}

/// `vaeguard purify IN -o OUT`: write the purified image.
struct PurifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "purify", abstract: "Purify a PNG or JPEG file of any size.")

    @OptionGroup var defense: DefenseArguments
    @Argument(help: "Input PNG or JPEG.") var input: String
    @Option(name: .shortAndLong, help: "Output file (.png or .jpg).") var output: String

    func run() throws {
        let model = try defense.loadModel()
        let image = try ImageDecoder.decode(Array(try Data(contentsOf: URL(fileURLWithPath: input))))
        let options = defense.options(defaultPurifier: ImagePurifier.defaultKind(width: image.width, height: image.height, model: model,
                                                                                 preferred: .vae, otherSizes: .patchVAE))
        let purifier = try ImagePurifier(model: model, options: options)
        let (result, score) = try purifier.purify(image)
        let bytes = output.lowercased().hasSuffix(".jpg") || output.lowercased().hasSuffix(".jpeg")
            ? try result.jpegData(quality: 95) : try result.pngData()
        try Data(bytes).write(to: URL(fileURLWithPath: output))
        print(String(format: "%@ → %@ (%dx%d, purifier %@, reconstruction error %.5f)", input, output, image.width, image.height,
                     purifier.defense.name, score))
    }
}
