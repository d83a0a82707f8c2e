import ArgumentParser
import Foundation
import Engine
import Datasets
import Purification
import Attacks
import Evaluation
import Certification

/// `vaeguard evaluate certify`: CERTIFY (randomized smoothing) on test images, one row per
/// image as in Cohen et al.'s certify.py, then certified accuracy at radii and its plot.
struct EvaluateCertify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certify",
        abstract: "Certified L2 robustness of the smoothed classifier g(x) = argmax P(f(D(x+δ)) = c), δ ~ N(0, σ²I).",
        discussion: """
        Writes OUTPUT/certify.tsv (idx, label, predict (-1 = abstained), radius, correct, time), appended per
        image so --resume skips finished indices, plus summary.md, summary.csv and certified-accuracy.svg.
        Images are the test set's indices skip·k for k = 0, 1, … below --limit rows (Cohen et al.'s --skip).

        Examples:
          vaeguard evaluate certify --dataset mnist --model models/mnist-classifier-noise-0.25.json \\
            --denoiser none --sigma 0.25 --n 10000 --n0 100 --alpha 0.001 --limit 500 --skip 20 --output runs/certify/mnist-0.25
          vaeguard evaluate certify --dataset cifar10 --denoiser patch-vae --sigma 0.25 --n 100000 --limit 100 \\
            --skip 100 --output runs/certify/cifar-patch --resume
        """)

    @Option(help: "mnist or cifar10.") var dataset: String
    @Option(help: "Datasets root (default: $VAEGUARD_DATASETS, else ../shared/datasets).") var datasets: String?
    @Option(help: "Models folder (default: $VAEGUARD_MODELS, else ./models).") var models: String?
    @Option(help: "Base classifier model JSON (default: <models>/<dataset>-classifier.json).") var model: String?
    @Option(help: "Whole-image VAE model JSON for --denoiser vae (default: <models>/<dataset>-vae.json).") var vae: String?
    @Option(help: "Patch VAE model JSON for --denoiser patch-vae.") var patchVae: String?
    @Option(help: "Denoiser D before the classifier: none, vae or patch-vae.") var denoiser: String = "none"
    @Option(help: "Noise level σ (default: the classifier card's noise_sigma, else 0.25).") var sigma: Float?
    @Option(help: "Samples that estimate p_A.") var n: Int = 10_000
    @Option(help: "Samples that select the class.") var n0: Int = 100
    @Option(help: "Failure probability α of each certificate.") var alpha: Double = 0.001
    @Option(help: "Certify at most this many images.") var limit: Int = 500
    @Option(help: "Take every K-th test image.") var skip: Int = 1
    @Option(help: "Noisy copies per forward pass (100 keeps activations in cache; docs/PERFORMANCE.md).") var batchSize: Int = 100
    @Option(help: "Noise seed; image i uses seed + i, so resumed runs draw the same noise.") var seed: UInt64 = 0
    @Option(help: "Output folder.") var output: String
    @Flag(help: "Keep the rows already in --output and certify only the missing images.") var resume = false

    func validate() throws {
        guard DatasetKind(rawValue: dataset) != nil else { throw ValidationError("--dataset: mnist or cifar10") }
        guard let kind = PurifierKind(rawValue: denoiser), DefendedBaseClassifier.denoisers.contains(kind) else {
            throw ValidationError("--denoiser: none, vae or patch-vae")
        }
        guard n >= 1, n0 >= 1 else { throw ValidationError("--n and --n0 must be ≥ 1") }
        guard alpha > 0, alpha < 1 else { throw ValidationError("--alpha must be in (0, 1)") }
        if let sigma { guard sigma > 0 else { throw ValidationError("--sigma must be positive") } }
        guard limit >= 1, skip >= 1, batchSize >= 1 else { throw ValidationError("--limit, --skip and --batch-size must be ≥ 1") }
    }

    func run() throws {
        let kind = DatasetKind(rawValue: dataset)!
        let purifier = PurifierKind(rawValue: denoiser)!
        BLASRuntime.setThreadCount(1)
        let loaded = try EvaluationModels.load(dataset: kind, models: models, classifier: model, vae: vae, patchVAE: patchVae)
        let defense = DefenseOptions(purifier: purifier)
        let base = try DefendedBaseClassifier(model: loaded.defended, options: defense)
        let sigma = self.sigma ?? loaded.defended.smoothingSigma ?? 0.25
        let smoothed = try SmoothedClassifier(base: base, sigma: sigma, batchSize: batchSize)
        let test = try kind.load(root: try DatasetKind.locateRoot(explicit: datasets), split: .test)
        let out = URL(fileURLWithPath: output)
        let settings: [(String, String)] = [
            ("dataset", kind.rawValue), ("models", loaded.fingerprint.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: "; ")), ("denoiser", purifier.rawValue),
            ("sigma", String(sigma)), ("n", String(n)), ("n0", String(n0)), ("alpha", String(alpha)),
            ("images", "test indices 0, \(skip), \(2 * skip), … (\(limit) at most)"), ("seed", String(seed)),
            ("command", "vaeguard " + CommandLine.arguments.dropFirst().joined(separator: " ")),
        ]
        try RunSettings.check(settings.filter { !["command", "images"].contains($0.0) }, in: out, resume: resume)
        let log = try CertificationLog(url: out.appendingPathComponent("certify.tsv"), resume: resume)
        let indices = Array(stride(from: 0, to: test.count, by: skip).prefix(limit))
        let pending = indices.filter { !log.done.contains($0) }
        print("models: \(loaded.description)")
        print("σ \(sigma), denoiser \(purifier.rawValue), n0 \(n0), n \(n), α \(alpha): \(pending.count) of \(indices.count) images to certify")
        for (k, i) in pending.enumerated() {
            let (x, y) = test.batch([i])
            var rng = RandomSource(seed: seed &+ UInt64(i))
            let start = Date()
            let c = try smoothed.certify(x, n0: n0, n: n, alpha: alpha, rng: &rng)
            let row = CertificationLog.Row(index: i, label: y[0], predicted: c.label ?? -1, radius: c.radius,
                                           seconds: Date().timeIntervalSince(start))
            try log.append(row)
            let accuracy = CertifiedAccuracy.at([0], rows: log.rows)[0]
            print(String(format: "[%d/%d] idx %d label %d predict %d radius %.3f (%.1f s); certified acc at r=0 %.3f",
                         k + 1, pending.count, i, row.label, row.predicted, row.radius, row.seconds, accuracy))
        }
        let radii = CertifiedAccuracy.reportedRadii(dataset: kind.rawValue)
        let rows = log.rows.filter { indices.contains($0.index) }
        try CertifiedAccuracy.markdown(rows: rows, radii: radii, settings: settings)
            .write(to: out.appendingPathComponent("summary.md"), atomically: true, encoding: .utf8)
        try CertifiedAccuracy.csv(rows: rows, radii: radii).write(to: out.appendingPathComponent("summary.csv"), atomically: true, encoding: .utf8)
        let title = "\(kind.rawValue) σ=\(sigma) denoiser \(purifier.rawValue), n=\(n), α=\(alpha)"
        try CertifiedAccuracy.plot([("σ=\(sigma) \(purifier.rawValue)", rows)], maxRadius: radii.last!, title: title)
            .write(to: out.appendingPathComponent("certified-accuracy.svg"), atomically: true, encoding: .utf8)
        print(CertifiedAccuracy.markdown(rows: rows, radii: radii, settings: []))
        print("results: \(output)/certify.tsv, summary.md, summary.csv, certified-accuracy.svg")
    }
}

/// The settings a certification run was started with (`settings.json`); `--resume` with
/// other settings would mix incomparable rows, so it is refused.
enum RunSettings {
    static func check(_ settings: [(String, String)], in directory: URL, resume: Bool) throws {
        let url = directory.appendingPathComponent("settings.json")
        let current = Dictionary(uniqueKeysWithValues: settings)
        if resume, let data = FileManager.default.contents(atPath: url.path),
           let saved = try JSONSerialization.jsonObject(with: data) as? [String: String] {
            if let key = current.keys.sorted().first(where: { saved[$0] != current[$0] }) {
                throw ValidationError("--resume: \(key) was '\(saved[key] ?? "")' in \(url.path), now '\(current[key] ?? "")'")
            }
            return
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: current, options: [.sortedKeys, .prettyPrinted]).write(to: url)
    }
}
