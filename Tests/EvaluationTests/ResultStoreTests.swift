import Foundation
import Testing
import Dispatch
import Attacks
@testable import Evaluation
import TestSupport

@Suite("Result store", .computeBound)
struct ResultStoreTests {
    static func cell(_ i: Int) -> CellResult {
        CellResult(dataset: "tiny", attack: .fgsm, norm: "linf", epsilon: 0.1, threat: .oblivious, defense: "none",
                   seed: UInt64(i), images: 10, correct: i % 10, accuracy: Double(i % 10) / 10, normalisedL2: 0.1,
                   meanL2: 1, maxLinf: 0.1, eotSamples: 0, attackSeconds: 0, evaluationSeconds: 0)
    }

    /// Workers finish cells at the same time: every cell must reach memory and `results.json`,
    /// and a resumed store must see them all.
    @Test func concurrentAdds_keepEveryCell_andTheFilesAgree() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vg-store-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try ResultStore(directory: dir, resume: false)
        let n = 64
        DispatchQueue.concurrentPerform(iterations: n) { i in
            #expect(throws: Never.self) { try store.add(Self.cell(i)) }
            #expect(store.contains(Self.cell(i).key))
        }
        #expect(store.cells.count == n)
        let onDisk = try JSONDecoder().decode([CellResult].self, from: Data(contentsOf: dir.appendingPathComponent("results.json")))
        #expect(Set(onDisk.map(\.key)) == Set((0..<n).map { Self.cell($0).key }))
        let csv = try String(contentsOf: dir.appendingPathComponent("results.csv"), encoding: .utf8)
        #expect(csv.split(separator: "\n").count == n + 1)
        let resumed = try ResultStore(directory: dir, resume: true)
        #expect((0..<n).allSatisfy { resumed.contains(Self.cell($0).key) })
        #expect(throws: AttackError.self) { _ = try ResultStore(directory: dir, resume: false) }
    }
}
