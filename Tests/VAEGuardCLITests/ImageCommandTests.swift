import Testing
import TestSupport
import ArgumentParser
import Foundation
import Engine
import Imaging
import NeuralNet
@testable import VAEGuardCommands

/// `vaeguard purify` and `vaeguard classify` on files: models loaded as `serve` loads them
/// (a configuration file naming a models folder), images of any size purified through
/// Purification's `ImagePurifier`.
@Suite("Image commands: purify and classify files", .computeBound)
struct ImageCommandTests {
    /// A folder with an 8×8 gray model whose VAEs (8×8 whole-image, 4×4 patch) reproduce their
    /// input, and a configuration file serving it as `toy`.
    struct Fixture {
        let directory: URL
        var config: String { directory.appendingPathComponent("config.json").path }

        init() throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("vg-cli-\(UUID().uuidString)")
            var rng = RandomSource(seed: 4)
            let classifier = try Sequential(inputShape: [8, 8, 1], layers: [Flatten(), Dense(inFeatures: 64, outFeatures: 3, name: "c", rng: &rng)])
            try ModelFile.save(.classifier(classifier),
                               architecture: ModelArchitecture(name: "toy-classifier", version: "1.0.0", kind: .classifier, inputShape: [8, 8, 1],
                                                               labels: ["a", "b", "c"], layers: classifier.specs,
                                                               weights: "toy-classifier.safetensors"),
                               to: directory)
            for (name, patch) in [("toy-vae", 8), ("toy-patch-vae", 4)] {
                let vae = try TestNetworks.identityVAE(patch: patch)
                try ModelFile.save(.vae(vae), architecture: ModelArchitecture(name: name, version: "1.0.0", kind: .vae, inputShape: vae.inputShape,
                                                                              encoder: vae.encoder.specs, latentDimension: vae.latentDimension,
                                                                              decoder: vae.decoder.specs, weights: "\(name).safetensors"),
                                   to: directory)
            }
            let config = """
                {"models": {"directory": "\(directory.path)", "entries": [
                  {"name": "toy", "classifier": "toy-classifier", "vae": "toy-vae", "patchVAE": "toy-patch-vae", "threshold": 0.01},
                  {"name": "partial", "classifier": "toy-classifier", "vae": "absent-vae", "threshold": 0.01},
                  {"name": "gone", "classifier": "absent-classifier", "threshold": 0.01}]}}
                """
            try Data(config.utf8).write(to: URL(fileURLWithPath: self.config))
        }

        /// Writes a gray (or RGB) PNG of `width`×`height` and returns its path and image.
        func png(width: Int, height: Int, channels: Int = 1) throws -> (path: String, image: Image) {
            let image = try Image(width: width, height: height, channels: channels,
                                  pixels: (0..<(width * height * channels)).map { UInt8(($0 * 37 + 11) % 256) })
            let path = directory.appendingPathComponent("in-\(width)x\(height)x\(channels).png").path
            try Data(try image.pngData()).write(to: URL(fileURLWithPath: path))
            return (path, image)
        }

        func purify(_ input: String, _ extra: [String] = []) throws -> Image {
            let output = directory.appendingPathComponent("out-\(UUID().uuidString).png").path
            var command = try PurifyCommand.parse([input, "-o", output, "--model", "toy", "--config", config, "--seed", "1"] + extra)
            try command.run()
            return try ImageDecoder.decode(Array(try Data(contentsOf: URL(fileURLWithPath: output))))
        }

        func remove() { try? FileManager.default.removeItem(at: directory) }
    }

    @Test func purify_anySize_keepsTheSize_withThePatchVAE() throws {
        let f = try Fixture()
        defer { f.remove() }
        for (w, h) in [(3, 5), (13, 6), (21, 21)] {
            let (path, image) = try f.png(width: w, height: h)
            #expect(try f.purify(path) == image, "\(w)×\(h)")   // identity patch VAE at full resolution
        }
    }

    @Test func purify_theModelsSize_usesTheWholeImageVAE_andOtherSizesResizeWithIt() throws {
        let f = try Fixture()
        defer { f.remove() }
        let (same, sameImage) = try f.png(width: 8, height: 8)
        #expect(try f.purify(same) == sameImage)
        let (other, otherImage) = try f.png(width: 13, height: 6)
        let out = try f.purify(other, ["--purifier", "vae"])
        #expect(out == (try otherImage.resized(width: 8, height: 8).resized(width: 13, height: 6)))
    }

    @Test func purify_colourInput_becomesTheModelsChannels() throws {
        let f = try Fixture()
        defer { f.remove() }
        let (path, image) = try f.png(width: 10, height: 7, channels: 3)
        #expect(try f.purify(path) == (try image.converted(toChannels: 1, background: .black)))
    }

    @Test func classify_runsOnAnySize() throws {
        let f = try Fixture()
        defer { f.remove() }
        let paths = [try f.png(width: 8, height: 8).path, try f.png(width: 20, height: 11, channels: 3).path]
        var command = try ClassifyCommand.parse(["--model", "toy", "--config", f.config, "--seed", "1"] + paths)
        try command.run()
    }

    @Test func models_areLoadedAsTheServiceLoadsThem_withClearErrors() throws {
        let f = try Fixture()
        defer { f.remove() }
        let partial = try DefenseArguments.parse(["--model", "partial", "--config", f.config]).loadModel()
        #expect(partial.availablePurifiers == [.none, .jpeg])   // its VAE file is absent
        #expect(throws: ValidationError.self) { try DefenseArguments.parse(["--model", "nope", "--config", f.config]).loadModel() }
        let gone = #expect(throws: (any Error).self) { try DefenseArguments.parse(["--model", "gone", "--config", f.config]).loadModel() }
        #expect("\(gone!)" == "model 'gone': classifier 'absent-classifier' is not in \(f.directory.path)")
    }
}
