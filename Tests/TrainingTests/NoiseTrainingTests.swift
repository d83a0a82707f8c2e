import Testing
import Foundation
import Engine
import NeuralNet
@testable import Training
import TestSupport

/// Gaussian-noise training for randomized smoothing: noise-augmented classifiers and the
/// denoiser fine-tuning of Denoised Smoothing.
@Suite("Noise training", .computeBound)
struct NoiseTrainingTests {
    @Test func noiseAugmentation_changesTheTrainingInputs_andRecordsSigma() throws {
        func train(sigma: Float) throws -> (ModelFile, [String]) {
            var o = TrainingTests.options(TrainingTests.temp())
            o.noiseSigma = sigma
            let lines = LineCollector()
            let run = try Trainer(options: o, log: { lines.append($0) })
                .trainClassifier(TrainingTests.classifier, train: TrainingTests.toyData(count: 128, seed: 1),
                                 test: TrainingTests.toyData(count: 32, seed: 2), resume: false)
            return (try ModelFile.load(run.url), lines.all)
        }
        let (plain, plainLog) = try train(sigma: 0)
        let (noisy, noisyLog) = try train(sigma: 0.5)
        #expect(noisy.architecture.metadata?["noise_sigma"] == "0.5")
        #expect(plain.architecture.metadata?["noise_sigma"] == nil)
        #expect(noisyLog.contains { $0.contains("under noise σ=0.5") })
        #expect(!plainLog.contains { $0.contains("under noise") })
        // Same seed, same batches: only the noise differs, so the weights must too.
        #expect(plain.network.namedTensors.map(\.value) != noisy.network.namedTensors.map(\.value))
    }

    @Test func addingNoise_isUnclippedGaussianOfTheRequestedSpread() {
        var rng = RandomSource(seed: 2)
        let x = Tensor(shape: [100, 10, 10, 1], repeating: 0.9)
        let y = Trainer.addingNoise(x, sigma: 0.3, rng: &rng)
        let d = zip(y.storage, x.storage).map { Double($0 - $1) }
        let mean = d.reduce(0, +) / Double(d.count)
        let sd = (d.map { $0 * $0 }.reduce(0, +) / Double(d.count)).squareRoot()
        #expect(abs(mean) < 0.01 && abs(sd - 0.3) < 0.01)
        #expect(y.storage.contains { $0 > 1 })   // no clipping to [0, 1]
    }

    /// The denoiser learns x + δ → x against the frozen classifier: its loss falls, the
    /// classifier does not change, and each epoch logs f(D(x + δ)) accuracy.
    @Test func denoiser_fineTuning_lossFalls_classifierFrozen() throws {
        let classifier = try TrainingTests.trainedClassifier(epochs: 3, images: 128)
        let before = classifier.parameters.map(\.value)
        var o = TrainingTests.options(TrainingTests.temp())
        o.epochs = 4
        o.noiseSigma = 0.25
        o.testLimit = 32
        let lines = LineCollector()
        let run = try Trainer(options: o, log: { lines.append($0) })
            .trainDenoiser(TrainingTests.denseVAE(name: "toy-denoiser"), classifier: classifier,
                           train: TrainingTests.toyData(count: 128, seed: 3), test: TrainingTests.toyData(count: 32, seed: 4),
                           resume: false)
        #expect(run.history.count == 4)
        #expect(run.history.last!.trainLoss < run.history.first!.trainLoss)
        #expect(lines.all.contains { $0.contains("f(D(x+δ)) accuracy") && $0.contains("σ=0.25") })
        #expect(classifier.parameters.map(\.value) == before, "the classifier must stay frozen")
        let card = try ModelFile.load(run.url).architecture
        #expect(card.kind == .vae && card.metadata?["noise_sigma"] == "0.25")
        var none = TrainingTests.options(TrainingTests.temp())
        none.noiseSigma = 0
        #expect(throws: (any Error).self) {
            _ = try Trainer(options: none, log: { _ in }).trainDenoiser(TrainingTests.denseVAE(name: "x"), classifier: classifier,
                train: TrainingTests.toyData(count: 16, seed: 3), test: TrainingTests.toyData(count: 16, seed: 4), resume: false)
        }
    }
}
