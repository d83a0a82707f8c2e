import Testing
import Foundation
import Attacks
@testable import Evaluation
@testable import VAEGuardCommands

/// strong.json across versions: files from before chunked checkpoints still load and resume;
/// `--resume` refuses other settings.
@Suite("Strong suite report: loading and resume checks")
struct EvaluateStrongReportTests {
    static let cell = StrongCell(defense: "none", threat: "oblivious", epsilon: 0.3, images: 150, cleanCorrect: 148,
                                 correctAfter: ["apgd-ce": 140], robust: 140, seconds: 12)

    static func report(images: Int? = nil, chunkImages: Int? = nil, partial: StrongPartial? = nil) -> EvaluateStrong.Report {
        EvaluateStrong.Report(dataset: "mnist", models: "classifier m@1", command: "vaeguard evaluate --suite strong",
                              suite: StrongSuite(), cells: [cell],
                              sanity: StrongSanity.check([cell], unbounded: [:]), images: images, chunkImages: chunkImages,
                              partial: partial)
    }

    @Test func anOldFile_withoutTheChunkFields_loadsAndResumes() throws {
        let old = try JSONEncoder().encode(Self.report())
        let text = String(decoding: old, as: UTF8.self)
        #expect(!text.contains("chunkImages") && !text.contains("partial"))
        let loaded = try JSONDecoder().decode(EvaluateStrong.Report.self, from: old)
        #expect(loaded.cells == [Self.cell] && loaded.partial == nil)
        #expect(loaded.mismatch(dataset: "mnist", models: "classifier m@1", suite: StrongSuite(), images: 150, chunkImages: 200) == nil)
        // Its cells say how many images it used.
        #expect(loaded.mismatch(dataset: "mnist", models: "classifier m@1", suite: StrongSuite(), images: 1000, chunkImages: 200) != nil)
    }

    @Test func resume_refusesOtherSettings() throws {
        let partial = StrongPartial(defense: "none", threat: "oblivious", epsilon: 0.3, images: 150, chunkImages: 50,
                                    chunks: [StrongChunk(start: 0, clean: Outcomes([true, false]), correctAfter: [:], seconds: 1)])
        let data = try JSONEncoder().encode(Self.report(images: 150, chunkImages: 50, partial: partial))
        let r = try JSONDecoder().decode(EvaluateStrong.Report.self, from: data)
        #expect(r.partial == partial)
        let ok = { (suite: StrongSuite, models: String, images: Int, chunk: Int) in
            r.mismatch(dataset: "mnist", models: models, suite: suite, images: images, chunkImages: chunk) == nil
        }
        var otherSuite = StrongSuite()
        otherSuite.squareQueries = 100
        #expect(ok(StrongSuite(), "classifier m@1", 150, 50))
        #expect(!ok(otherSuite, "classifier m@1", 150, 50))
        #expect(!ok(StrongSuite(), "classifier m@2", 150, 50))
        #expect(!ok(StrongSuite(), "classifier m@1", 100, 50))
        #expect(!ok(StrongSuite(), "classifier m@1", 150, 200))
    }
}
