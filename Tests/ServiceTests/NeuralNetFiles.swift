import Foundation
import NeuralNet
import Purification

/// Saves a test model's parts as model files (classifier and whole-image VAE).
enum NeuralNetFiles {
    static func save(_ model: DefendedModel, to dir: URL, robustness: [RobustnessClaim]? = nil,
                     certification: [CertificationClaim]? = nil, metadata: [String: String]? = nil) throws {
        let classifierArch = ModelArchitecture(name: "\(model.name)-classifier", version: "1.0.0", kind: .classifier,
                                               inputShape: model.inputShape, labels: model.labels,
                                               layers: model.classifier.specs, weights: "\(model.name)-classifier.safetensors",
                                               metadata: metadata, robustness: robustness, certification: certification)
        try ModelFile.save(.classifier(model.classifier), architecture: classifierArch, to: dir)
        if let vae = model.vae {
            let vaeArch = ModelArchitecture(name: "\(model.name)-vae", version: "1.0.0", kind: .vae, inputShape: vae.inputShape,
                                            encoder: vae.encoder.specs, latentDimension: vae.latentDimension,
                                            decoder: vae.decoder.specs, weights: "\(model.name)-vae.safetensors")
            try ModelFile.save(.vae(vae), architecture: vaeArch, to: dir)
        }
    }
}
