import Foundation
import Engine
import NeuralNet
import Models
import Purification

/// The served models, loaded once from the models folder, and whether they are ready.
///
/// Loading and warm-up happen off the request path (`loadAndWarm`); until they finish,
/// `/readyz` answers 503 and inference routes answer 503 "not ready".
// Why unchecked: its state is guarded by `lock` by hand; not yet moved to a `Mutex`.
public final class ModelRegistry: @unchecked Sendable {
    private let lock = NSLock()
    private var defended: [String: DefendedModel] = [:]
    private var loadError: String?
    private var warnings: [String] = []
    private var ready = false
    public let configuration: ServiceConfiguration

    public init(configuration: ServiceConfiguration) {
        self.configuration = configuration
    }

    public var isReady: Bool { lock.withLock { ready } }
    public var failure: String? { lock.withLock { loadError } }

    /// Loads every configured model and runs one inference through each purifier.
    ///
    /// A model whose classifier file is absent is skipped, and a purifier whose VAE file is
    /// absent is left out of that model, each with a warning in `warnings` (and the log): a
    /// deployment may ship only some models. A file that exists but is invalid (checksum,
    /// shape, format) is an error, and so is having no model at all.
    public func loadAndWarm() throws {
        do {
            let directory = ModelCatalog.locateDirectory(explicit: configuration.models.directory)
            let needsModels = configuration.models.entries.contains { $0.classifier != nil }
            guard let directory else {
                if needsModels { throw ServiceError.configuration("no models folder found (set models.directory or VAEGUARD_MODELS)") }
                lock.withLock { ready = true }
                return
            }
            let catalog = try ModelCatalog(directory: directory)
            var loaded: [String: DefendedModel] = [:]
            var notes: [String] = []
            for entry in configuration.models.entries where entry.classifier != nil {
                guard let (model, missing) = try Self.assemble(entry, catalog: catalog) else {
                    notes.append("model '\(entry.name)' skipped: '\(entry.classifier!)' not in \(directory.path)")
                    continue
                }
                notes += missing.map { "model '\(entry.name)': '\($0)' not in \(directory.path); that purifier is unavailable" }
                loaded[entry.name] = model
            }
            if needsModels && loaded.isEmpty {
                throw ServiceError.configuration("none of the configured models is in \(directory.path)")
            }
            for model in loaded.values { try Self.warm(model) }
            lock.withLock {
                defended = loaded
                warnings = notes
                ready = true
            }
        } catch {
            lock.withLock { loadError = "\(error)" }
            throw error
        }
    }

    /// What `loadAndWarm` left out.
    public var loadWarnings: [String] { lock.withLock { warnings } }

    /// Loads a single configured model (the CLI's classify and purify).
    public func loadOne(_ entry: ServiceConfiguration.ModelEntry) throws -> DefendedModel {
        guard let directory = ModelCatalog.locateDirectory(explicit: configuration.models.directory) else {
            throw ServiceError.configuration("no models folder found (set models.directory or VAEGUARD_MODELS)")
        }
        guard let (model, _) = try Self.assemble(entry, catalog: ModelCatalog(directory: directory)) else {
            throw ServiceError.configuration("model '\(entry.name)': '\(entry.classifier ?? "")' is not in \(directory.path)")
        }
        return model
    }

    /// Installs already-built models (tests).
    public func install(_ models: [DefendedModel]) {
        lock.withLock {
            for m in models { defended[m.name] = m }
            ready = true
        }
    }

    public var models: [DefendedModel] { lock.withLock { defended.values.sorted { $0.name < $1.name } } }

    /// The model called `name`, or 404 / 503.
    public func model(named name: String) throws(ServiceError) -> DefendedModel {
        let (isReady, model) = lock.withLock { (ready, defended[name]) }
        guard isReady else { throw .notReady("models are still loading") }
        guard let model else {
            throw .notFound("unknown model '\(name)'; available: \(self.models.map(\.name).joined(separator: ", "))")
        }
        return model
    }

    /// Builds one model from catalog files; nil when its classifier file is absent. The
    /// second value names VAE files that are absent (their purifiers are left out).
    static func assemble(_ entry: ServiceConfiguration.ModelEntry, catalog: ModelCatalog) throws
        -> (DefendedModel, missing: [String])? {
        guard let classifierName = entry.classifier, let cf = catalog[classifierName] else { return nil }
        guard case .classifier(let classifier) = cf.network else {
            throw ServiceError.configuration("model '\(entry.name)': '\(classifierName)' is not a classifier")
        }
        var missing: [String] = []
        func vae(_ name: String?) throws -> VariationalAutoencoder? {
            guard let name else { return nil }
            guard let f = catalog[name] else {
                missing.append(name)
                return nil
            }
            guard case .vae(let v) = f.network else { throw ServiceError.configuration("'\(name)' is not a VAE") }
            return v
        }
        let wholeVAE = try vae(entry.vae)
        if let wholeVAE, wholeVAE.inputShape != classifier.inputShape {
            throw ServiceError.configuration("model '\(entry.name)': VAE input \(wholeVAE.inputShape) ≠ classifier input \(classifier.inputShape)")
        }
        let patch = try vae(entry.patchVAE)
        if let patch, patch.inputShape.last != classifier.inputShape.last {
            throw ServiceError.configuration("model '\(entry.name)': patch VAE channels differ from the classifier's")
        }
        let model = DefendedModel(name: entry.name, version: cf.architecture.version,
                                  labels: cf.architecture.labels ?? (0..<(classifier.outputShape.first ?? 0)).map(String.init),
                                  classifier: classifier, vae: wholeVAE, patchVAE: patch, threshold: entry.threshold,
                                  purifierThresholds: Dictionary(uniqueKeysWithValues: (entry.purifierThresholds ?? [:])
                                      .compactMap { k, v in PurifierKind(rawValue: k).map { ($0, v) } }),
                                  smoothingSigma: cf.architecture.metadata?["noise_sigma"].flatMap(Float.init),
                                  robustness: cf.architecture.robustness ?? [])
        return (model, missing)
    }

    /// One inference per purifier, so the first real request does not pay for page faults.
    static func warm(_ model: DefendedModel) throws {
        var rng = RandomSource(seed: 0)
        let x = Tensor(shape: [1] + model.inputShape, repeating: 0.5)
        for kind in model.availablePurifiers {
            _ = try model.classify(x, options: DefenseOptions(purifier: kind), rng: &rng)
        }
    }
}
