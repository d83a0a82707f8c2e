import Testing
import Foundation
import Certification
@testable import Evaluation

struct CertificationLogTests {
    func temporaryURL() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("vg-cert-\(UUID().uuidString)/certify.tsv")
    }

    @Test func rows_surviveReopeningWithResume_andAreRefusedWithout() throws {
        let url = temporaryURL()
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        let log = try CertificationLog(url: url, resume: false)
        try log.append(.init(index: 0, label: 7, predicted: 7, radius: 0.8123456, seconds: 1.5))
        try log.append(.init(index: 20, label: 2, predicted: -1, radius: 0, seconds: 1.25))
        let reopened = try CertificationLog(url: url, resume: true)
        #expect(reopened.done == [0, 20])
        #expect(reopened.rows[0] == .init(index: 0, label: 7, predicted: 7, radius: 0.812346, seconds: 1.5))
        try reopened.append(.init(index: 40, label: 1, predicted: 3, radius: 0.1, seconds: 1))
        #expect(try CertificationLog(url: url, resume: true).rows.count == 3)
        #expect(throws: CertificationError.self) { _ = try CertificationLog(url: url, resume: false) }
        let text = try String(contentsOf: url, encoding: .utf8)
        #expect(text.hasPrefix("idx\tlabel\tpredict\tradius\tcorrect\ttime\n0\t7\t7\t0.812346\t1\t1.500\n"))
    }

    @Test func certifiedAccuracy_countsCorrectRowsAtOrAboveEachRadius() {
        let rows: [CertificationLog.Row] = [
            .init(index: 0, label: 1, predicted: 1, radius: 0.3, seconds: 0),
            .init(index: 1, label: 1, predicted: 1, radius: 1.2, seconds: 0),
            .init(index: 2, label: 2, predicted: -1, radius: 0, seconds: 0),     // abstained
            .init(index: 3, label: 2, predicted: 0, radius: 0.9, seconds: 0),    // wrong, large radius
        ]
        #expect(CertifiedAccuracy.at([0, 0.25, 0.5, 1.0, 1.25], rows: rows) == [0.5, 0.5, 0.25, 0.25, 0])
        #expect(CertifiedAccuracy.markdown(rows: rows, radii: [0, 0.5], settings: [("sigma", "0.5")])
            .contains("| 50.0 % | 25.0 % |"))
        #expect(CertifiedAccuracy.plot([("a", rows)], maxRadius: 2, title: "t").contains("<polyline"))
    }
}
