import Foundation
import Synchronization
import Engine
import Models
import Purification

/// The served models, loaded once from the models folder, and whether they are ready.
///
/// Loading and warm-up happen off the request path (`loadAndWarm`); until they finish,
/// `/readyz` answers 503 and inference routes answer 503 "not ready". Building each model
/// from its files is `ModelLoader`'s; the registry keeps readiness, the lookup and warm-up.
public final class ModelRegistry: Sendable {
    private struct State {
        var defended: [String: DefendedModel] = [:]
        var loadError: String?
        var warnings: [String] = []
        var ready = false
    }

    private let state = Mutex(State())
    public let configuration: ServiceConfiguration

    public init(configuration: ServiceConfiguration) {
        self.configuration = configuration
    }

    public var isReady: Bool { state.withLock { $0.ready } }
    public var failure: String? { state.withLock { $0.loadError } }

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
                if needsModels { throw ServiceError.configuration(ModelLoadError.noModelsFolder.description) }
                state.withLock { $0.ready = true }
                return
            }
            let loader = ModelLoader(directory: directory)
            var loaded: [String: DefendedModel] = [:]
            var notes: [String] = []
            for entry in configuration.models.entries {
                guard let spec = entry.spec else { continue }
                do throws(ModelLoadError) {
                    let result = try loader.load(spec)
                    notes += result.missing.map {
                        "model '\(entry.name)': '\($0.file)' not in \(directory.path); that purifier is unavailable"
                    }
                    loaded[entry.name] = result.model
                } catch .classifierMissing(_, let classifier, _) {
                    notes.append("model '\(entry.name)' skipped: '\(classifier)' not in \(directory.path)")
                } catch {
                    throw ServiceError.configuration(error.description)
                }
            }
            if needsModels && loaded.isEmpty {
                throw ServiceError.configuration("none of the configured models is in \(directory.path)")
            }
            for model in loaded.values { try Self.warm(model) }
            state.withLock {
                $0.defended = loaded
                $0.warnings = notes
                $0.ready = true
            }
        } catch {
            state.withLock { $0.loadError = "\(error)" }
            throw error
        }
    }

    /// What `loadAndWarm` left out.
    public var loadWarnings: [String] { state.withLock { $0.warnings } }

    /// Installs already-built models (tests).
    public func install(_ models: [DefendedModel]) {
        state.withLock {
            for m in models { $0.defended[m.name] = m }
            $0.ready = true
        }
    }

    public var models: [DefendedModel] { state.withLock { $0.defended.values.sorted { $0.name < $1.name } } }

    /// The model called `name`, or 404 / 503.
    public func model(named name: String) throws(ServiceError) -> DefendedModel {
        let (isReady, model) = state.withLock { ($0.ready, $0.defended[name]) }
        guard isReady else { throw .notReady("models are still loading") }
        guard let model else {
            throw .notFound("unknown model '\(name)'; available: \(self.models.map(\.name).joined(separator: ", "))")
        }
        return model
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
