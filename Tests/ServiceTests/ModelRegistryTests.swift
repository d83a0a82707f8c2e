import Testing
import Foundation
@testable import Service

/// The registry loads the configured models through `ModelLoader` and keeps readiness:
/// what it skips, what it leaves out, and what stops it.
@Suite struct ModelRegistryTests {
    static func folder() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vg-registry-\(UUID().uuidString)")
        try NeuralNetFiles.save(try TestService.models()[0], to: dir)
        return dir
    }

    static func configuration(_ dir: URL, _ entries: [ServiceConfiguration.ModelEntry]) -> ServiceConfiguration {
        var cfg = TestService.configuration()
        cfg.models.directory = dir.path
        cfg.models.entries = entries
        return cfg
    }

    @Test func beforeLoading_modelsAreNotReady() throws {
        let registry = ModelRegistry(configuration: TestService.configuration())
        #expect(!registry.isReady)
        let error = #expect(throws: ServiceError.self) { try registry.model(named: "toy") }
        #expect(error?.description.contains("models are still loading") == true)
    }

    @Test func loading_servesEachEntryUnderItsName_withItsThresholds() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let registry = ModelRegistry(configuration: Self.configuration(dir, [
            .init(name: "toy", classifier: "toy-classifier", vae: "toy-vae", threshold: 0.01, purifierThresholds: ["jpeg": 0.5]),
            .init(name: "bare", classifier: "toy-classifier", threshold: 0.02),
        ]))
        try registry.loadAndWarm()
        #expect(registry.isReady && registry.failure == nil && registry.loadWarnings.isEmpty)
        #expect(registry.models.map(\.name) == ["bare", "toy"])
        let toy = try registry.model(named: "toy")
        #expect(toy.threshold(for: .vae) == 0.01 && toy.threshold(for: .jpeg) == 0.5)
        #expect(try registry.model(named: "bare").availablePurifiers == [.none, .jpeg])
        let error = #expect(throws: ServiceError.self) { try registry.model(named: "nope") }
        #expect(error?.description.contains("unknown model 'nope'; available: bare, toy") == true)
    }

    @Test func absentFiles_areSkippedOrLeftOut_withWarnings() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let registry = ModelRegistry(configuration: Self.configuration(dir, [
            .init(name: "toy", classifier: "toy-classifier", vae: "toy-vae", patchVAE: "absent-vae", threshold: 0.01),
            .init(name: "gone", classifier: "absent-classifier", threshold: 0.01),
        ]))
        try registry.loadAndWarm()
        #expect(registry.models.map(\.name) == ["toy"])
        #expect(registry.loadWarnings == [
            "model 'toy': 'absent-vae' not in \(dir.path); that purifier is unavailable",
            "model 'gone' skipped: 'absent-classifier' not in \(dir.path)",
        ])
    }

    @Test func anInvalidFile_isAConfigurationError_andTheFailureIsKept() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("{ not json".utf8).write(to: dir.appendingPathComponent("broken-vae.json"))
        let registry = ModelRegistry(configuration: Self.configuration(dir, [
            .init(name: "toy", classifier: "toy-classifier", vae: "broken-vae", threshold: 0.01),
        ]))
        #expect(throws: ServiceError.self) { try registry.loadAndWarm() }
        #expect(!registry.isReady)
        #expect(registry.failure?.contains("cannot load 'broken-vae'") == true)
        // A broken file no entry names does not stop the others.
        let other = ModelRegistry(configuration: Self.configuration(dir, [.init(name: "toy", classifier: "toy-classifier", threshold: 0.01)]))
        try other.loadAndWarm()
        #expect(other.isReady)
    }

    @Test func noModelsFolder_isAnError_unlessNoEntryNeedsOne() throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("vg-registry-none-\(UUID().uuidString)")
        let registry = ModelRegistry(configuration: Self.configuration(missing, [.init(name: "toy", classifier: "toy-classifier")]))
        let error = #expect(throws: ServiceError.self) { try registry.loadAndWarm() }
        #expect(error?.description.contains("none of the configured models is in \(missing.path)") == true)
        let upstreamOnly = ModelRegistry(configuration: Self.configuration(missing, []))
        try upstreamOnly.loadAndWarm()
        #expect(upstreamOnly.isReady)
    }
}
