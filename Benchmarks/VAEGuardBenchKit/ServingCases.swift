import Engine
import Models
import NeuralNet
import Purification

/// What one `POST /v1/classify` computes, without HTTP: `DefendedModel.classify` of a batch of
/// classifier-sized images (purify, classify, softmax, reconstruction error), random weights
/// with the paper's layer shapes. FLOPs come from the service's own cost model
/// (`DefendedModel.classificationFLOPs`, which also counts one operation per element-wise
/// output), so a row's GFLOPS is what admission control charges per second.
public enum ServingCases {
    public static func defendedModel(_ name: String, classifier: ModelArchitecture, vae: ModelArchitecture) -> DefendedModel {
        DefendedModel(name: name, version: "0", labels: [], classifier: PaperModels.classifier(classifier),
                      vae: PaperModels.vae(vae), patchVAE: nil, threshold: .infinity)
    }

    public static func classify(_ model: DefendedModel, batch n: Int) -> Workload {
        let options = DefenseOptions(purifier: .vae, seed: 1)
        let flops = try! model.classificationFLOPs(count: n, options: options)
        return Workload(name: "\(model.name) classify vae b\(n)", group: .model, flops: flops, items: n) {
            let x = randomTensor([n] + model.inputShape, scale: 0.5)
            let defense = try! ResolvedDefense(model: model, options: options)
            return {
                var rng = RandomSource(seed: 1)
                consume(try! model.classify(x, defense: defense, rng: &rng))
            }
        }
    }

    /// Batch 1 (one request, the latency goal) and 32 (a full micro-batch, the throughput case).
    public static var all: [Workload] {
        let mnist = defendedModel("mnist", classifier: PaperArchitectures.mnistClassifier(), vae: PaperArchitectures.mnistVAE())
        let cifar = defendedModel("cifar", classifier: PaperArchitectures.cifarClassifier(), vae: PaperArchitectures.cifarVAE())
        return [classify(mnist, batch: 1), classify(cifar, batch: 1), classify(mnist, batch: 32), classify(cifar, batch: 32)]
    }
}
