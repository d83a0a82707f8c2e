import Foundation
import Synchronization
import Engine
import Datasets
import Attacks
import Evaluation
import Purification
import ArgumentParser

/// `vaeguard evaluate --suite detector`: the classifier and the reconstruction-error flag
/// attacked together (`DetectorAttack`); counts the adversarial images that get past both.
enum EvaluateDetectorAttack {
    struct Cell: Codable {
        var defense: String
        var epsilon: Double
        var threshold: Float
        var images: Int
        /// Clean images classified correctly and not flagged.
        var cleanPassed: Int
        /// Adversarial images misclassified and not flagged.
        var adversarialPassed: Int
        var seconds: Double
    }

    /// `defended` flags at its deployed thresholds (`EvaluateDetection.deployed`), each purifier at its own.
    static func run(defended: DefendedModel, images: Tensor, labels: [Int], epsilons: [Float], defenses: [DefenseSpec],
                    thresholdSource: String, steps: Int, weight: Float, eot: Int, output: URL,
                    batchSize: Int, workers: Int) throws {
        let n = labels.count
        print(String(format: "detector attack: PGD-%d on CE − %g·max(0, score/τ − 0.9), τ the flag threshold (%@), EOT %d, %d images",
                     steps, weight, thresholdSource, eot, n))
        var cells: [Cell] = []
        for d in defenses {
            let threshold = defended.threshold(for: d.options.purifier)
            print(String(format: "%@: τ = %.5g", d.name, threshold))
            let target = try DetectorAwareTarget(model: defended, options: d.options, threshold: threshold, weight: weight,
                                                 eotSamples: eot)
            var rng = RandomSource(seed: 1)
            let clean = try defended.classify(images, options: d.options, rng: &rng)
            let cleanPassed = clean.enumerated().filter { i, r in
                r.probabilities.indices.max { r.probabilities[$0] < r.probabilities[$1] }! == labels[i] && r.reconstructionError <= threshold
            }.count
            for eps in epsilons {
                let start = Date()
                let attack = DetectorAttack(epsilon: eps, steps: steps)
                let batches = (n + batchSize - 1) / batchSize
                var passed = [Bool](repeating: false, count: n)
                let failure = Mutex<String?>(nil)
                passed.withUnsafeMutableBufferPointer { buffer in
                    Parallel.forEachChunk(count: batches, maxChunks: workers) { range in
                        for b in range {
                            let lo = b * batchSize, hi = min(n, lo + batchSize)
                            var rng = RandomSource(seed: SeedMixer.seed("detector", d.name, "\(eps)", "\(b)"))
                            do {
                                let r = try attack.perturb(images.batch(lo..<hi), labels: Array(labels[lo..<hi]), target: target,
                                                           model: defended, options: d.options, rng: &rng)
                                for (j, p) in r.passed.enumerated() { buffer[lo + j] = p }
                            } catch {
                                failure.withLock { $0 = "\(error)" }
                            }
                        }
                    }
                }
                if let message = failure.withLock({ $0 }) { throw ValidationError("detector attack on \(d.name): \(message)") }
                let cell = Cell(defense: d.name, epsilon: Double(eps), threshold: threshold, images: n, cleanPassed: cleanPassed,
                                adversarialPassed: passed.filter { $0 }.count, seconds: Date().timeIntervalSince(start))
                print(String(format: "%@ ε=%.4g: %d/%d adversarial images misclassified AND unflagged (clean: %d/%d correct and unflagged), %.0f s",
                             d.name, eps, cell.adversarialPassed, n, cleanPassed, n, cell.seconds))
                cells.append(cell)
            }
        }
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(cells).write(to: output.appendingPathComponent("detector-attack.json"))
        print("results: \(output.path)/detector-attack.json")
    }
}
