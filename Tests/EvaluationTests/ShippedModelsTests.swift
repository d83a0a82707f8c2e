import Foundation
import Testing
import Datasets
import Attacks
@testable import Evaluation
import TestSupport

/// The fast check of docs/MODELS.md's clean-accuracy table: the shipped models, loaded as
/// `vaeguard evaluate --clean` loads them, on the first 500 test images with seed 1, must give
/// the counts pinned in Fixtures/clean-500.json (written from
/// `vaeguard evaluate --dataset D --clean --clean-images 500 --seeds 1 --defenses jpeg:23`), within 2 images for
/// float differences between CPUs and builds. Skipped when the datasets or a model are absent.
@Suite("Shipped models: clean accuracy on 500 test images", .serialized, .computeBound)
struct ShippedModelsTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let datasets = try? DatasetKind.locateRoot()
    static let pinned: [String: [String: Int]] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/clean-500.json")
        guard let data = try? Data(contentsOf: url) else { return [:] }
        return (try? JSONDecoder().decode([String: [String: Int]].self, from: data)) ?? [:]
    }()

    static func available(_ dataset: String) -> Bool {
        datasets != nil && pinned[dataset] != nil
            && FileManager.default.fileExists(atPath: repository.appendingPathComponent("models/\(dataset)-classifier.json").path)
    }

    @Test(.enabled(if: available("mnist"))) func mnist() async throws { try await verify(.mnist) }
    @Test(.enabled(if: available("cifar10"))) func cifar10() async throws { try await verify(.cifar10) }

    struct Missing: Error, CustomStringConvertible { var description: String }

    /// Minutes of compute: it runs on a thread of its own, never on Swift's cooperative pool
    /// (two threads on a 2-core machine), which the socket tests running beside it need; the
    /// expectations are checked back in the test.
    func verify(_ kind: DatasetKind) async throws {
        let problems = try await offPool { try Self.problems(kind) }
        #expect(problems.isEmpty, "\(problems.joined(separator: "; "))")
    }

    static func problems(_ kind: DatasetKind) throws -> [String] {
        guard let expected = pinned[kind.rawValue], let root = datasets else { throw Missing(description: "no pinned counts or datasets") }
        let models = try EvaluationModels.load(dataset: kind, models: repository.appendingPathComponent("models").path)
        let test = try kind.load(root: root, split: .test)
        let (x, y) = test.batch(Array(0..<500))
        let (threats, best) = try ThreatModel.parseList("oblivious")
        let grid = EvaluationGrid(dataset: kind.rawValue, attacks: [], epsilons: [:], defenses: try DefenseSpec.parseList("jpeg:23"),
                                  threats: threats, bestAdaptive: best, seeds: [1], settings: AttackSettings())
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clean500-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try ResultStore(directory: dir, resume: false)
        try GridEvaluator(model: models.defended, images: x, labels: y, grid: grid, store: store, batchSize: 100, workers: 2)
            .runClean(classifierName: models.classifierName)
        let measured = Dictionary(uniqueKeysWithValues: store.clean.map { ($0.defense, $0.correct) })
        var problems: [String] = []
        if Set(measured.keys) != Set(expected.keys) { problems.append("defenses measured: \(measured.keys.sorted())") }
        for (defense, count) in expected.sorted(by: { $0.key < $1.key }) {
            guard let got = measured[defense] else { problems.append("\(defense) not measured"); continue }
            if abs(got - count) > 2 { problems.append("\(kind.rawValue) \(defense): \(got) correct of 500, pinned \(count)") }
        }
        return problems
    }
}
