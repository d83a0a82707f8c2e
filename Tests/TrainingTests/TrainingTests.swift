import Testing
import Foundation
import Engine
import NeuralNet
import Datasets
import Models
import Attacks
@testable import Training
import TestSupport

/// Small, fast runs of the same code paths as `vaeguard train` (the full runs are project
/// commands, see scripts/train-models.sh).
@Suite("Training", .computeBound)
struct TrainingTests {
    /// Two easily separable classes of 8×8 images.
    static func toyData(count: Int, seed: UInt64) -> LabeledImages {
        var rng = RandomSource(seed: seed)
        var pixels: [UInt8] = []
        var labels: [Int] = []
        for i in 0..<count {
            let label = i % 2
            labels.append(label)
            for y in 0..<8 { for _ in 0..<8 {
                let bright = label == 0 ? y < 4 : y >= 4
                pixels.append(UInt8(min(255, (bright ? 200 : 30) + rng.nextInt(40))))
            } }
        }
        return LabeledImages(name: "toy", height: 8, width: 8, channels: 1, pixels: pixels, labels: labels, classNames: ["top", "bottom"])
    }

    static func options(_ dir: URL) -> TrainingOptions {
        var o = TrainingOptions()
        o.epochs = 2
        o.batchSize = 16
        o.outputDirectory = dir.appendingPathComponent("out").path
        o.checkpointDirectory = dir.appendingPathComponent("ck").path
        return o
    }

    static func temp() -> URL { FileManager.default.temporaryDirectory.appendingPathComponent("vg-train-\(UUID().uuidString)") }
    func temp() -> URL { Self.temp() }

    static let classifier = ModelArchitecture(
        name: "toy-classifier", version: "0", kind: .classifier, inputShape: [8, 8, 1], labels: ["top", "bottom"],
        layers: [.conv2d(inChannels: 1, outChannels: 4, kernel: 3), .batchNorm(channels: 4, momentum: 0.9, epsilon: 1e-3), .relu,
                 .maxPool2, .flatten, .dropout(rate: 0.2), .dense(inFeatures: 64, outFeatures: 2)],
        weights: "toy-classifier.safetensors")

    @Test func classifier_learnsAndWritesModelFiles() throws {
        let dir = temp()
        let trainer = Trainer(options: Self.options(dir), log: { _ in })
        let (url, history) = try trainer.trainClassifier(Self.classifier, train: Self.toyData(count: 256, seed: 1),
                                                         test: Self.toyData(count: 64, seed: 2), resume: false)
        #expect(history.count == 2)
        #expect(history.last!.testMetric > 0.95)
        let model = try ModelFile.load(url)
        #expect(model.architecture.metadata?["epochs"] == "2")
        #expect(FileManager.default.fileExists(atPath: url.deletingLastPathComponent().appendingPathComponent("toy-classifier.curve.csv").path))
    }

    @Test func resume_continuesFromTheCheckpoint_likeAnUnbrokenRun() throws {
        let dir = temp()
        var o = Self.options(dir)
        o.epochs = 1
        _ = try Trainer(options: o, log: { _ in }).trainClassifier(Self.classifier, train: Self.toyData(count: 64, seed: 1),
                                                                  test: Self.toyData(count: 16, seed: 2), resume: false)
        o.epochs = 2
        let resumed = try Trainer(options: o, log: { _ in }).trainClassifier(Self.classifier, train: Self.toyData(count: 64, seed: 1),
                                                                            test: Self.toyData(count: 16, seed: 2), resume: true)
        let other = temp()
        var o2 = Self.options(other)
        o2.epochs = 2
        let straight = try Trainer(options: o2, log: { _ in }).trainClassifier(Self.classifier, train: Self.toyData(count: 64, seed: 1),
                                                                              test: Self.toyData(count: 16, seed: 2), resume: false)
        #expect(resumed.history.count == 2)
        #expect(abs(resumed.history[1].trainLoss - straight.history[1].trainLoss) < 1e-9)
    }

    @Test func vae_andPatchVAE_lossesFall() throws {
        let dir = temp()
        var o = Self.options(dir)
        o.epochs = 3
        o.patchesPerEpoch = 512
        let wholeArch = ModelArchitecture(
            name: "toy-vae", version: "0", kind: .vae, inputShape: [8, 8, 1],
            encoder: [.conv2d(inChannels: 1, outChannels: 4, kernel: 3), .relu, .maxPool2, .flatten], latentDimension: 8,
            decoder: [.dense(inFeatures: 8, outFeatures: 64), .relu, .reshape([4, 4, 4]), .upsample2,
                      .conv2d(inChannels: 4, outChannels: 1, kernel: 3), .sigmoid],
            weights: "toy-vae.safetensors")
        let whole = try Trainer(options: o, log: { _ in }).trainVAE(wholeArch, train: Self.toyData(count: 256, seed: 1),
                                                                    test: Self.toyData(count: 64, seed: 2), patch: nil, resume: false)
        #expect(whole.history.last!.testMetric < whole.history.first!.testMetric)
        o.reconstructionLoss = .bce
        o.klReduction = .mean
        let patchArch = PaperArchitectures.patchVAE(patch: 4, channels: 1, latent: 8, width: 8)
        let patch = try Trainer(options: o, log: { _ in }).trainVAE(patchArch, train: Self.toyData(count: 64, seed: 1),
                                                                    test: Self.toyData(count: 32, seed: 2), patch: 4, resume: false)
        #expect(patch.history.last!.trainLoss < patch.history.first!.trainLoss)
        #expect(try ModelFile.load(patch.url).architecture.inputShape == [4, 4, 1])
    }

    /// Continuing a VAE (`--initial-weights` + `--prior-curve`) keeps one curve with one epoch
    /// numbering, and a monitor classifier's accuracy after purification joins the curve on
    /// every `monitorEvery`-th epoch and the last, as an empty cell elsewhere.
    @Test func vaeContinuation_keepsOneCurve_andMonitorsPurifiedAccuracy() throws {
        let dir = temp()
        let arch = Self.denseVAE(name: "toy-vae-c")
        var first = Self.options(dir)
        first.epochs = 2
        let run1 = try Trainer(options: first, log: { _ in }).trainVAE(arch, train: Self.toyData(count: 64, seed: 1),
                                                                      test: Self.toyData(count: 16, seed: 2), patch: nil, resume: false)
        let classifierURL = try ModelFile.save(.classifier(try Self.trainedClassifier(epochs: 2, images: 64)),
                                               architecture: Self.classifier, to: dir.appendingPathComponent("cls"))
        var next = Self.options(temp())
        next.epochs = 5
        next.initialWeights = run1.url.path
        next.priorCurve = run1.url.deletingLastPathComponent().appendingPathComponent("toy-vae-c.curve.csv").path
        next.monitorClassifier = classifierURL.path
        next.monitorEvery = 2
        let lines = LineCollector()
        let run2 = try Trainer(options: next, log: { lines.append($0) }).trainVAE(
            arch, train: Self.toyData(count: 64, seed: 1), test: Self.toyData(count: 16, seed: 2), patch: nil, resume: false)
        #expect(run2.history.map(\.epoch) == [1, 2, 3, 4, 5])
        #expect(abs(run2.history[1].testMetric - run1.history[1].testMetric) < 1e-5, "the prior epochs are kept as they were")
        #expect(run2.history.map { $0.purifiedAccuracy != nil } == [false, false, false, true, true])
        #expect(run2.history.compactMap(\.purifiedAccuracy).allSatisfy { (0...1).contains($0) })
        #expect(lines.all.contains { $0.contains("after purification") })
        let csv = try String(contentsOf: run2.url.deletingLastPathComponent().appendingPathComponent("toy-vae-c.curve.csv"), encoding: .utf8)
        let rows = csv.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        #expect(rows[0].last == "purified_accuracy" && rows.count == 6)
        #expect(rows[3].last == "" && rows[4].last != "")
        // The written curve reads back as written.
        let back = try CurveFile.read(run2.url.deletingLastPathComponent().appendingPathComponent("toy-vae-c.curve.csv"))
        #expect(back.map(\.epoch) == [1, 2, 3, 4, 5] && back[3].purifiedAccuracy != nil && back[2].purifiedAccuracy == nil)
        let bad = dir.appendingPathComponent("bad.csv")
        try "epoch,loss\n1,2\n".write(to: bad, atomically: true, encoding: .utf8)
        #expect(throws: NeuralNetError.self) { try CurveFile.read(bad) }
    }

    /// The toy classifier trained for `epochs` on `images` toy images: the guide of the guided tests.
    static func trainedClassifier(epochs: Int, images: Int) throws -> Sequential {
        var o = options(Self.temp())
        o.epochs = epochs
        let base = try Trainer(options: o, log: { _ in }).trainClassifier(classifier, train: toyData(count: images, seed: 1),
                                                                         test: toyData(count: 16, seed: 2), resume: false)
        guard case .classifier(let net) = try ModelFile.load(base.url).network else { throw TrainingTestError.notAClassifier }
        return net
    }

    enum TrainingTestError: Error { case notAClassifier }

    /// A linear-decoder VAE on 8×8 grey images with 8 latents, for the fine-tuning tests.
    static func denseVAE(name: String) -> ModelArchitecture {
        ModelArchitecture(name: name, version: "0", kind: .vae, inputShape: [8, 8, 1], encoder: [.flatten], latentDimension: 8,
                          decoder: [.dense(inFeatures: 8, outFeatures: 64), .sigmoid, .reshape([8, 8, 1])],
                          weights: "\(name).safetensors")
    }

    @Test func purifierAwareFineTuning_mixesReconstructionsIntoBatches() throws {
        let dir = temp()
        let vaeArch = ModelArchitecture(name: "toy-vae", version: "0", kind: .vae, inputShape: [8, 8, 1],
                                        encoder: [.flatten], latentDimension: 4,
                                        decoder: [.dense(inFeatures: 4, outFeatures: 64), .sigmoid, .reshape([8, 8, 1])],
                                        weights: "toy-vae.safetensors")
        let vaeURL = try ModelFile.save(try Network(architecture: vaeArch), architecture: vaeArch, to: dir.appendingPathComponent("vae"))
        var o = Self.options(dir)
        o.epochs = 1
        let base = try Trainer(options: o, log: { _ in }).trainClassifier(Self.classifier, train: Self.toyData(count: 64, seed: 1),
                                                                         test: Self.toyData(count: 16, seed: 2), resume: false)
        var tuned = Self.options(temp())
        tuned.epochs = 1
        tuned.purifierVAE = vaeURL.path
        tuned.purifiedFraction = 1
        tuned.initialWeights = base.url.path
        let lines = LineCollector()
        let result = try Trainer(options: tuned, log: { lines.append($0) })
            .trainClassifier(Self.classifier, train: Self.toyData(count: 64, seed: 1), test: Self.toyData(count: 16, seed: 2), resume: false)
        #expect(lines.all.contains { $0.contains("after VAE purification") })
        // The accuracy after purification is a curve column, as for a monitored VAE run.
        let purified = try #require(result.history.last?.purifiedAccuracy)
        #expect((0...1).contains(purified))
        let curve = try String(contentsOf: result.url.deletingLastPathComponent().appendingPathComponent("\(Self.classifier.name).curve.csv"),
                               encoding: .utf8)
        #expect(curve.hasPrefix("epoch,train_loss,test_metric,seconds,images_per_second,purified_accuracy"))
        // Fraction 1 replaces every image with its reconstruction.
        var batch = Self.toyData(count: 4, seed: 3).batch([0, 1, 2, 3]).images
        let original = batch
        var ctx = ForwardContext(training: true, rng: RandomSource(seed: 1))
        guard case .vae(let vae) = try ModelFile.load(vaeURL).network else { Issue.record("kind"); return }
        Trainer.purifyFraction(&batch, fraction: 1, vae: vae, context: &ctx)
        #expect(batch != original)
    }

    /// Classifier-guided fine-tuning: the VAE is trained on adversarial/clean pairs with the
    /// frozen classifier's cross-entropy in the loss; its loss falls, the classifier does not
    /// change, and the metrics (clean and oblivious-PGD accuracy after purification) are
    /// logged each epoch. (The composed VAE→classifier gradient is checked by finite
    /// differences in NeuralNetTests.)
    @Test func guidedFineTuning_trainsTheVAEAndLeavesTheClassifierAlone() throws {
        let classifier = try Self.trainedClassifier(epochs: 3, images: 128)
        let before = classifier.parameters.map(\.value)
        let vaeArch = Self.denseVAE(name: "toy-vae")
        var guided = Self.options(temp())
        guided.epochs = 4
        guided.attackEpsilon = 0.3
        guided.attackSteps = 3
        guided.testLimit = 32
        let lines = LineCollector()
        let run = try Trainer(options: guided, log: { lines.append($0) })
            .trainGuidedVAE(vaeArch, classifier: classifier, train: Self.toyData(count: 128, seed: 3),
                            test: Self.toyData(count: 32, seed: 4), resume: false)
        #expect(run.history.count == 4)
        #expect(run.history.last!.trainLoss < run.history.first!.trainLoss)
        #expect(lines.all.contains { $0.contains("oblivious PGD-3") && $0.contains("clean") })
        #expect(classifier.parameters.map(\.value) == before, "the guiding classifier must stay frozen")
        #expect(try ModelFile.load(run.url).architecture.kind == .vae)
        // Adversarial mixing replaces exactly the chosen images.
        let x = Self.toyData(count: 8, seed: 5).batch(Array(0..<8))
        var rng = RandomSource(seed: 1)
        let mixed = Trainer.adversarialMix(x.images, labels: x.labels, fraction: 1, attack: .pgd(epsilon: 0.1, steps: 2),
                                           target: ClassifierTarget(classifier: classifier), rng: &rng)
        #expect(mixed.maxAbsDifference(x.images) <= 0.1 + 1e-6)
        #expect(mixed != x.images)
        var none = RandomSource(seed: 1)
        #expect(Trainer.adversarialMix(x.images, labels: x.labels, fraction: 0, attack: .pgd(epsilon: 0.1, steps: 2),
                                       target: ClassifierTarget(classifier: classifier), rng: &none) == x.images)
    }

    @Test func guidedFineTuning_throughThePipeline_attacksTheCurrentVAE() throws {
        let classifier = try Self.trainedClassifier(epochs: 2, images: 64)
        let vaeArch = Self.denseVAE(name: "toy-vae-p")
        var guided = Self.options(temp())
        guided.epochs = 2
        guided.attackSteps = 2
        guided.testLimit = 16
        guided.attackThrough = .pipeline
        guided.attackEOT = 2
        let run = try Trainer(options: guided, log: { _ in })
            .trainGuidedVAE(vaeArch, classifier: classifier, train: Self.toyData(count: 64, seed: 3),
                            test: Self.toyData(count: 16, seed: 4), resume: false)
        #expect(run.history.count == 2 && run.history.allSatisfy { $0.trainLoss.isFinite })
        // The pipeline target differentiates through the VAE with the requested EOT draws.
        guard case .vae(let vae) = try Network(architecture: vaeArch, seed: 1) else { Issue.record("kind"); return }
        let target = try Trainer.attackTarget(guided, classifier: classifier, vae: vae)
        let defended = try #require(target as? DefendedTarget)
        #expect(defended.backward == .exact && defended.effectiveEOTSamples == 2)
        #expect(try Trainer.attackTarget(Self.options(temp()), classifier: classifier, vae: vae) is ClassifierTarget)
    }

    @Test func paperArchitectures_buildWithTheDocumentedParameterCounts() throws {
        // Parameter counts of the reference Keras models (paper-notes.md §1b: 202,536 + 102,641 for the MNIST VAE).
        guard case .vae(let vae) = try Network(architecture: PaperArchitectures.mnistVAE()) else { Issue.record("kind"); return }
        let encoder = vae.encoder.parameters.reduce(0) { $0 + $1.value.count } + vae.meanHead.parameters.reduce(0) { $0 + $1.value.count }
            + vae.logVarianceHead.parameters.reduce(0) { $0 + $1.value.count }
        #expect(encoder == 202_536)
        #expect(vae.decoder.parameters.reduce(0) { $0 + $1.value.count } == 102_641)
        for arch in [PaperArchitectures.mnistClassifier(), PaperArchitectures.cifarClassifier(), PaperArchitectures.cifarVAE(),
                     PaperArchitectures.patchVAE(patch: 8, channels: 3, latent: 128, width: 2)] {
            _ = try Network(architecture: arch)
        }
    }
}

/// Collects log lines from the trainer's `@Sendable` log closure.
final class LineCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}
