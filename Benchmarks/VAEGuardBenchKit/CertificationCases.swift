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

    /// The noise of one batch of noisy copies on its own (no forward pass): the ziggurat fill
    /// that `noisyCopies` uses, and the Box–Muller loop (`nextNormal`) it replaced, per value
    /// `image[i] + σ·z`, one generator per copy as `noisyCopies` splits them. Items: values.
    public static func noise(_ name: String, values: Int, copies: Int, boxMuller: Bool) -> Workload {
        Workload(name: "\(name) noise \(boxMuller ? "box-muller" : "ziggurat") b\(copies)", group: .model, items: values * copies) {
            let image = randomTensor([values], scale: 0.5).storage
            return {
                var out = [Float](repeating: 0, count: values * copies)
                var rng = RandomSource(seed: 1)
                out.withUnsafeMutableBufferPointer { o in
                    image.withUnsafeBufferPointer { pixels in
                        for copy in 0..<copies {
                            var g = rng.split()
                            let row = o.baseAddress! + copy * values
                            if boxMuller {
                                for i in 0..<values { row[i] = pixels[i] + 0.25 * g.nextNormal() }
                            } else {
                                g.fillNormal(row, count: values, adding: pixels.baseAddress!, scale: 0.25)
                            }
                        }
                    }
                }
                consume(out)
            }
        }
    }

    public static var all: [Workload] {
        [
            // One thread's noise for a b100 batch: what the sampling rows below spend besides the GEMMs.
            noise("mnist", values: 784, copies: 100, boxMuller: true),
            noise("mnist", values: 784, copies: 100, boxMuller: false),
            noise("cifar", values: 3072, copies: 100, boxMuller: true),
            noise("cifar", values: 3072, copies: 100, boxMuller: false),
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
