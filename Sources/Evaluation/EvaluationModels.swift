import Foundation
import NeuralNet
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
                            patchVAE: String? = nil) throws -> EvaluationModels {
        let dir = ModelCatalog.locateDirectory(explicit: models) ?? URL(fileURLWithPath: "models")
        func url(_ explicit: String?, _ name: String) -> URL? {
            if let explicit { return URL(fileURLWithPath: explicit) }
            let u = dir.appendingPathComponent("\(name).json")
            return FileManager.default.fileExists(atPath: u.path) ? u : nil
        }
        guard let classifierURL = url(classifier, "\(dataset.rawValue)-classifier") else {
            throw EvaluateModelError("no classifier: \(dir.path)/\(dataset.rawValue)-classifier.json is missing (use --classifier)")
        }
        let classifierFile = try ModelFile.load(classifierURL)
        guard case .classifier(let net) = classifierFile.network else {
            throw EvaluateModelError("\(classifierURL.path) is not a classifier")
        }
        func identity(_ a: ModelArchitecture) -> String { "\(a.name)@\(a.version) sha256:\(a.sha256 ?? "unknown")" }
        var fingerprint = ["classifier": identity(classifierFile.architecture)]
        func loadVAE(_ u: URL?, role: String) throws -> (VariationalAutoencoder, String)? {
            guard let u else { return nil }
            let file = try ModelFile.load(u)
            guard case .vae(let v) = file.network else { throw EvaluateModelError("\(u.path) is not a VAE") }
            fingerprint[role] = identity(file.architecture)
            return (v, "\(file.architecture.name)@\(file.architecture.version) (\(u.path))")
        }
        let whole = try loadVAE(url(vae, "\(dataset.rawValue)-vae"), role: "vae")
        let patch = try loadVAE(url(patchVAE, dataset == .mnist ? "patch-vae-gray-16" : "patch-vae-rgb-8"), role: "patchVAE")
        let arch = classifierFile.architecture
        let defended = DefendedModel(name: arch.name, version: arch.version, labels: arch.labels ?? [], classifier: net,
                                     vae: whole?.0, patchVAE: patch?.0, threshold: .infinity,
                                     smoothingSigma: arch.metadata?["noise_sigma"].flatMap(Float.init))
        let text = "classifier \(arch.name)@\(arch.version) (\(classifierURL.path)); vae \(whole?.1 ?? "none"); patch vae \(patch?.1 ?? "none")"
        return EvaluationModels(defended: defended, classifierName: arch.name, description: text, fingerprint: fingerprint)
    }
}

public struct EvaluateModelError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}
