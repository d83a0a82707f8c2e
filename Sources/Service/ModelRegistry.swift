import Foundation
import Engine
import NeuralNet
import Models
import Purification

/// The served models, loaded once from the models folder, and whether they are ready.
///
/// Loading and warm-up happen off the request path (`loadAndWarm`); until they finish,
/// `/readyz` answers 503 and inference routes answer 503 "not ready".
public final class ModelRegistry: @unchecked Sendable {
    private let lock = NSLock()
    private var defended: [String: DefendedModel] = [:]
    private var loadError: String?
    private var ready = false
    public let configuration: ServiceConfiguration

    public init(configuration: ServiceConfiguration) {
        self.configuration = configuration
    }

    public var isReady: Bool { lock.withLock { ready } }
    public var failure: String? { lock.withLock { loadError } }

    /// Loads every configured model and runs one inference through each purifier.
    public func loadAndWarm() throws {
        do {
            let directory = ModelCatalog.locateDirectory(explicit: configuration.models.directory)
            var loaded: [String: DefendedModel] = [:]
            let needsModels = configuration.models.entries.contains { $0.classifier != nil }
            let catalog: ModelCatalog? = try directory.map { try ModelCatalog(directory: $0) }
            if needsModels && catalog == nil {
                throw ServiceError.configuration("no models folder found (set models.directory or VAEGUARD_MODELS)")
            }
            for entry in configuration.models.entries {
                guard entry.classifier != nil, let catalog else { continue }
                loaded[entry.name] = try Self.assemble(entry, catalog: catalog)
            }
            for model in loaded.values { try Self.warm(model) }
            lock.withLock {
                defended = loaded
                ready = true
            }
        } catch {
            lock.withLock { loadError = "\(error)" }
            throw error
        }
    }

    /// Loads a single configured model (the CLI's classify and purify).
    public func loadOne(_ entry: ServiceConfiguration.ModelEntry) throws -> DefendedModel {
        guard let directory = ModelCatalog.locateDirectory(explicit: configuration.models.directory) else {
            throw ServiceError.configuration("no models folder found (set models.directory or VAEGUARD_MODELS)")
        }
        return try Self.assemble(entry, catalog: ModelCatalog(directory: directory))
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

    static func assemble(_ entry: ServiceConfiguration.ModelEntry, catalog: ModelCatalog) throws -> DefendedModel {
        func file(_ name: String?) throws -> ModelFile? {
            guard let name else { return nil }
            guard let f = catalog[name] else {
                throw ServiceError.configuration("model '\(entry.name)' needs '\(name)', not found in \(catalog.directory.path)")
            }
            return f
        }
        guard let cf = try file(entry.classifier), case .classifier(let classifier) = cf.network else {
            throw ServiceError.configuration("model '\(entry.name)': '\(entry.classifier ?? "")' is not a classifier")
        }
        func vae(_ name: String?) throws -> VariationalAutoencoder? {
            guard let f = try file(name) else { return nil }
            guard case .vae(let v) = f.network else { throw ServiceError.configuration("'\(name!)' is not a VAE") }
            return v
        }
        let wholeVAE = try vae(entry.vae)
        if let wholeVAE, wholeVAE.inputShape != classifier.inputShape {
            throw ServiceError.configuration("model '\(entry.name)': VAE input \(wholeVAE.inputShape) ≠ classifier input \(classifier.inputShape)")
        }
        return DefendedModel(name: entry.name, version: cf.architecture.version,
                             labels: cf.architecture.labels ?? (0..<(classifier.outputShape.first ?? 0)).map(String.init),
                             classifier: classifier, vae: wholeVAE, patchVAE: try vae(entry.patchVAE),
                             threshold: entry.threshold)
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
