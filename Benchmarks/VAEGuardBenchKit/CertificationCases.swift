import Certification
import Engine
import Models
import NeuralNet
import Purification

/// The sampling path of randomized smoothing (`certify=true`): n noisy copies of one image in
/// batches through the denoiser and the classifier, with the noise generation and label
/// counting included. FLOPs count only the forward passes, so the ratio to sgemm shows what the
/// non-GEMM work (noise, im2col, counting) costs.
public enum CertificationCases {
    /// `SmoothedClassifier.sampleCounts` of n samples in batches of `batch`, denoiser none or vae.
    public static func sampling(_ name: String, classifier arch: ModelArchitecture, vae vaeArch: ModelArchitecture?,
                                n: Int, batch: Int) -> Workload {
        let perSample = forwardFLOPs(architecture: arch) + (vaeArch.map { forwardFLOPs(architecture: $0) } ?? 0)
        return Workload(name: "\(name) smoothing \(vaeArch == nil ? "none" : "vae") n\(n) b\(batch)", group: .model,
                        flops: Double(n) * perSample, items: n) {
            let model = DefendedModel(name: name, version: "0", labels: [], classifier: PaperModels.classifier(arch),
                                      vae: vaeArch.map(PaperModels.vae), patchVAE: nil, threshold: .infinity)
            let base = try! DefendedBaseClassifier(model: model, options: DefenseOptions(purifier: vaeArch == nil ? .none : .vae))
            let smoothed = try! SmoothedClassifier(base: base, sigma: 0.25, batchSize: batch)
            let x = randomTensor([1] + arch.inputShape, scale: 0.5)
            return {
                var rng = RandomSource(seed: 1)
                consume(try! smoothed.sampleCounts(x, count: n, rng: &rng))
            }
        }
    }

    public static var all: [Workload] {
        [
            // n = 100 and 1,000 at the service's certification.batchSize (100), MNIST, both denoisers.
            sampling("mnist", classifier: PaperArchitectures.mnistClassifier(), vae: nil, n: 100, batch: 100),
            sampling("mnist", classifier: PaperArchitectures.mnistClassifier(), vae: PaperArchitectures.mnistVAE(), n: 100, batch: 100),
            sampling("mnist", classifier: PaperArchitectures.mnistClassifier(), vae: PaperArchitectures.mnistVAE(), n: 1000, batch: 100),
            sampling("mnist", classifier: PaperArchitectures.mnistClassifier(), vae: nil, n: 1000, batch: 500),
            sampling("mnist", classifier: PaperArchitectures.mnistClassifier(), vae: nil, n: 1000, batch: 100),
            sampling("mnist", classifier: PaperArchitectures.mnistClassifier(), vae: nil, n: 1024, batch: 64),
            sampling("mnist", classifier: PaperArchitectures.mnistClassifier(), vae: PaperArchitectures.mnistVAE(), n: 1000, batch: 500),
            sampling("cifar", classifier: PaperArchitectures.cifarClassifier(), vae: nil, n: 1000, batch: 500),
            sampling("cifar", classifier: PaperArchitectures.cifarClassifier(), vae: nil, n: 1000, batch: 100),
        ]
    }
}
