import Testing
import Foundation
import Engine
import Imaging
import Models
import NeuralNet
import Training
@testable import Service
import TestSupport

/// "Bring your own images" end to end on a folder made here: PNG and JPEG files of several
/// sizes in the ImageFolder layout; a classifier and a patch VAE trained from it (one short
/// epoch: the point is the path, not the accuracy); the result served through configuration
/// alone (issue 17).
@Suite("Training on your own images", .serialized, .computeBound)
struct OwnImagesTests {
    /// `dir/bright/*` and `dir/dark/*`, 12 images each, sizes 20…59 px, every third a JPEG,
    /// plus a non-image file that must be ignored.
    static func makeFolder() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vg-own-\(UUID().uuidString)")
        var rng = RandomSource(seed: 3)
        for (name, base) in [("bright", 200), ("dark", 40)] {
            let folder = dir.appendingPathComponent(name).appendingPathComponent(name == "bright" ? "nested" : "")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for i in 0..<12 {
                let (w, h) = (20 + rng.nextInt(40), 20 + rng.nextInt(40))
                let pixels = (0..<(w * h * 3)).map { _ in UInt8(clamping: base + rng.nextInt(41) - 20) }
                let image = try Image(width: w, height: h, channels: 3, pixels: pixels)
                let jpeg = i % 3 == 0
                let bytes = jpeg ? try image.jpegData(quality: 90) : try image.pngData()
                try Data(bytes).write(to: folder.appendingPathComponent("\(name)-\(i).\(jpeg ? "jpg" : "png")"))
            }
        }
        try Data("not an image".utf8).write(to: dir.appendingPathComponent("bright/README.txt"))
        return dir
    }

    @Test func imageFolder_readsClassesRecursively_andHoldsSomeOut() throws {
        let dir = try Self.makeFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (train, test) = try ImageFolder.load(dir, height: 32, width: 32, channels: 3, labeled: true, heldOut: 0.25, seed: 1)
        #expect(train.classNames == ["bright", "dark"])
        #expect(train.count + test.count == 24 && test.count == 6)
        #expect(train.imageShape == [32, 32, 3])
        // The dark class really is darker after decoding and resizing.
        let (images, labels) = train.batch(Array(0..<train.count))
        let means = (0..<2).map { c -> Float in
            let idx = labels.indices.filter { labels[$0] == c }
            return idx.map { i in images.storage[(i * 3072)..<((i + 1) * 3072)].reduce(0, +) / 3072 }.reduce(0, +) / Float(idx.count)
        }
        #expect(means[0] > 0.6 && means[1] < 0.3)
        #expect(throws: (any Error).self) { try ImageFolder.load(dir.appendingPathComponent("dark"), height: 8, width: 8, channels: 1, labeled: true) }
    }

    @Test func trainedModels_serveThroughConfigurationAlone() async throws {
        let dir = try Self.makeFolder()
        let models = dir.appendingPathComponent("models")
        defer { try? FileManager.default.removeItem(at: dir) }
        var o = TrainingOptions()
        o.epochs = 1
        o.batchSize = 8
        o.patchesPerEpoch = 128
        o.outputDirectory = models.path
        o.checkpointDirectory = dir.appendingPathComponent("ck").path
        let trainer = Trainer(options: o, log: { _ in })
        let labelled = try ImageFolder.load(dir, height: 32, width: 32, channels: 3, labeled: true)
        var classifier = PaperArchitectures.cifarClassifier()
        classifier.name = "own-classifier"
        classifier.weights = "own-classifier.safetensors"
        classifier.labels = labelled.train.classNames
        if case .dense(let f, _) = classifier.layers!.last! { classifier.layers![classifier.layers!.count - 1] = .dense(inFeatures: f, outFeatures: 2) }
        _ = try trainer.trainClassifier(classifier, train: labelled.train, test: labelled.test, resume: false)
        let plain = try ImageFolder.load(dir, height: 48, width: 48, channels: 3, labeled: false)
        var patch = PaperArchitectures.patchVAE(patch: 8, channels: 3, latent: 16, width: 4)
        patch.name = "patch-vae-own"
        patch.weights = "patch-vae-own.safetensors"
        _ = try trainer.trainVAE(patch, train: plain.train, test: plain.test, patch: 8, resume: false)

        // Registered by configuration only: a model entry naming the two files.
        var cfg = TestService.configuration()
        cfg.models.directory = models.path
        cfg.models.defaultModel = "own"
        cfg.models.entries = [.init(name: "own", classifier: "own-classifier", patchVAE: "patch-vae-own", threshold: 0.05,
                                    defaultPurifier: .patchVAE)]
        let registry = ModelRegistry(configuration: cfg)
        try registry.loadAndWarm()
        try await TestService.with(cfg, registry: registry) { s in
            let png = try Image(width: 77, height: 51, channels: 3, fill: 210).pngData()
            let r = try await s.request("POST", "/v1/classify?model=own", body: Data(png))
            #expect(r.status == 200, "\(String(decoding: r.body, as: UTF8.self))")
            #expect((r.json["purifier"] as? [String: Any])?["name"] as? String == "patch-vae")
            let labels = (r.json["predictions"] as? [[String: Any]])?.compactMap { $0["label"] as? String }
            #expect(Set(labels ?? []) == ["bright", "dark"])
            let purified = try await s.request("POST", "/v1/purify?model=own", body: Data(png))
            #expect(purified.status == 200 && purified.header("Content-Type") == "image/png")
        }
    }
}
