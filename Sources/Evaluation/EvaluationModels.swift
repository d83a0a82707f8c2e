import Foundation
import Datasets
import Models
import Purification

/// Loads the classifier and purifiers `vaeguard evaluate` attacks, each from its own model
/// file so a model still being trained elsewhere in `models/` does not get in the way.
/// Public so the shipped-model tests load them exactly as the command does.
public struct EvaluationModels: Sendable {
    public let defended: DefendedModel
    public let classifierName: String
    public let description: String
    /// What identifies the models in a resumable run: name@version and weight sha256 of each
    /// (not paths, so a moved checkout still resumes).
    public let fingerprint: [String: String]

    public static func load(dataset: DatasetKind, models: String? = nil, classifier: String? = nil, vae: String? = nil,
                            patchVAE: String? = nil) throws(ModelLoadError) -> EvaluationModels {
        let dir = ModelCatalog.locateDirectory(explicit: models) ?? URL(fileURLWithPath: "models")
        func source(_ explicit: String?, _ name: String) -> ModelSpec.Source {
            explicit.map { .file(URL(fileURLWithPath: $0)) } ?? .named(name)
        }
        // No thresholds: the evaluation measures detection itself.
        let spec = ModelSpec(classifier: source(classifier, "\(dataset.rawValue)-classifier"),
                             vae: source(vae, "\(dataset.rawValue)-vae"),
                             patchVAE: source(patchVAE, dataset == .mnist ? "patch-vae-gray-16" : "patch-vae-rgb-8"))
        let loaded = try ModelLoader(directory: dir).load(spec)
        return EvaluationModels(defended: loaded.model, classifierName: loaded.model.name, description: loaded.description,
                                fingerprint: loaded.fingerprint)
    }
}
