import Foundation
import NeuralNet
import Models

/// The one place a `DefendedModel` is built from model files: the service's `ModelRegistry`,
/// the `classify` and `purify` commands and `vaeguard evaluate` all load through it, so they
/// agree on labels, thresholds, shape checks, fingerprints and error messages.
///
/// Only the files a spec names are read, so a model being trained elsewhere in the folder,
/// or a broken file no spec names, does not get in the way.
public struct ModelLoader: Sendable {
    /// The models folder `.named` sources are found in; nil when there is none (then only
    /// `.file` sources load).
    public let catalog: ModelCatalog?

    public init(directory: URL?) {
        catalog = directory.map(ModelCatalog.init(directory:))
    }

    /// Loads and checks the classifier and the VAEs `spec` names. A named VAE that is not in
    /// the folder is left out and reported in `missing`; everything else that is wrong throws.
    public func load(_ spec: ModelSpec) throws(ModelLoadError) -> LoadedModel {
        let requested = spec.name ?? spec.classifier.description
        guard let classifierFile = try file(spec.classifier) else {
            throw .classifierMissing(model: requested, classifier: spec.classifier.description,
                                     directory: catalog?.directory.path ?? "")
        }
        guard case .classifier(let classifier) = classifierFile.network else {
            throw .wrongKind(model: requested, file: spec.classifier.description, expected: "classifier")
        }
        let arch = classifierFile.architecture
        let name = spec.name ?? arch.name
        var fingerprint = ["classifier": Self.identity(arch)]
        var missing: [LoadedModel.MissingPurifier] = []
        var parts = ["classifier \(Self.label(classifierFile))"]
        func vae(_ source: ModelSpec.Source?, kind: PurifierKind, role: String, title: String)
            throws(ModelLoadError) -> VariationalAutoencoder? {
            guard let source, let f = try file(source) else {
                if let source { missing.append(.init(kind: kind, file: source.description)) }
                parts.append("\(title) none")
                return nil
            }
            guard case .vae(let v) = f.network else { throw .wrongKind(model: name, file: source.description, expected: "VAE") }
            fingerprint[role] = Self.identity(f.architecture)
            parts.append("\(title) \(Self.label(f))")
            return v
        }
        let whole = try vae(spec.vae, kind: .vae, role: "vae", title: "vae")
        if let whole, whole.inputShape != classifier.inputShape {
            throw .shapeMismatch(model: name, reason: "VAE input \(whole.inputShape) ≠ classifier input \(classifier.inputShape)")
        }
        let patch = try vae(spec.patchVAE, kind: .patchVAE, role: "patchVAE", title: "patch vae")
        if let patch, patch.inputShape.last != classifier.inputShape.last {
            throw .shapeMismatch(model: name, reason: "patch VAE channels differ from the classifier's")
        }
        let model = DefendedModel(name: name, version: arch.version,
                                  labels: arch.labels ?? (0..<(classifier.outputShape.first ?? 0)).map(String.init),
                                  classifier: classifier, vae: whole, patchVAE: patch, threshold: spec.threshold,
                                  purifierThresholds: spec.purifierThresholds,
                                  smoothingSigma: arch.metadata?["noise_sigma"].flatMap(Float.init),
                                  robustness: arch.robustness ?? [], certification: arch.certification ?? [])
        return LoadedModel(model: model, fingerprint: fingerprint, missing: missing, description: parts.joined(separator: "; "))
    }

    /// The model file `source` names; nil when a named one is not in the folder.
    func file(_ source: ModelSpec.Source) throws(ModelLoadError) -> ModelFile? {
        let url: URL
        switch source {
        case .file(let path):
            url = path
        case .named(let name):
            guard let catalog else { throw .noModelsFolder }
            guard let found = catalog.url(named: name) else { return nil }
            url = found
        }
        return try Self.file(at: url, named: source.description)
    }

    /// The classifier in the architecture file at `url`, alone (training's guidance and
    /// frozen classifiers).
    public static func classifier(at url: URL) throws(ModelLoadError) -> Sequential {
        let f = try file(at: url, named: url.path)
        guard case .classifier(let classifier) = f.network else {
            throw .wrongKind(model: f.architecture.name, file: url.path, expected: "classifier")
        }
        return classifier
    }

    /// The VAE in the architecture file at `url`, alone (training's purifier VAE).
    public static func vae(at url: URL) throws(ModelLoadError) -> VariationalAutoencoder {
        let f = try file(at: url, named: url.path)
        guard case .vae(let vae) = f.network else { throw .wrongKind(model: f.architecture.name, file: url.path, expected: "VAE") }
        return vae
    }

    static func file(at url: URL, named name: String) throws(ModelLoadError) -> ModelFile {
        do { return try ModelFile.load(url) } catch { throw .unreadable(file: name, reason: error.description) }
    }

    /// `name@version sha256:…`, what identifies one file's weights.
    static func identity(_ a: ModelArchitecture) -> String { "\(a.name)@\(a.version) sha256:\(a.sha256 ?? "unknown")" }

    /// `name@version (path)`, for the description.
    static func label(_ f: ModelFile) -> String { "\(f.architecture.name)@\(f.architecture.version) (\(f.url.path))" }
}
