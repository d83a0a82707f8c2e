import Testing
import Engine
import NeuralNet
@testable import Purification
import TestSupport

@Suite("Patch-wise purification", .computeBound)
struct PatchVAEPurifierTests {
    @Test(arguments: [(299, 16, 8, 37), (299, 16, 16, 19), (299, 32, 16, 18), (299, 32, 32, 10), (299, 64, 32, 9), (299, 64, 64, 5)])
    func grid_matchesThePaperPatchCounts(case c: (Int, Int, Int, Int)) {
        #expect(PatchGrid(length: c.0, patch: c.1, stride: c.2).starts.count == c.3)
    }

    @Test func grid_coversEveryPixel_andSnapsTheLastPatchToTheBorder() {
        for length in [1, 7, 8, 9, 28, 32, 33, 299] {
            for (p, s) in [(8, 4), (8, 8), (8, 3), (16, 8)] {
                let grid = PatchGrid(length: length, patch: p, stride: s)
                var covered = [Bool](repeating: false, count: grid.paddedLength)
                for start in grid.starts { for i in start..<(start + p) { covered[i] = true } }
                #expect(covered.allSatisfy { $0 }, "length \(length), patch \(p), stride \(s)")
                #expect(grid.starts.last == grid.paddedLength - p)
                #expect(Set(grid.starts).count == grid.starts.count, "no duplicate patches")
            }
        }
    }

    @Test(arguments: [(28, 28, 1), (32, 32, 3), (37, 21, 3), (5, 7, 1), (8, 8, 3), (9, 30, 1)])
    func identityModel_outputEqualsInput(size: (Int, Int, Int)) throws {
        let (h, w, c) = size
        let purifier = try PatchVAEPurifier(vae: TestNetworks.identityVAE(patch: 8, channels: c), stride: 3, sampling: .sample, batchSize: 7)
        var rng = RandomSource(seed: 2)
        let x = Tensor(shape: [2, h, w, c], storage: (0..<(2 * h * w * c)).map { _ in rng.nextUniform() })
        let y = try purifier.purify(x, rng: &rng)
        #expect(y.shape == x.shape)
        #expect(y.maxAbsDifference(x) < 1e-5)
    }

    @Test func wrongChannelCount_isAShapeError() throws {
        let purifier = try PatchVAEPurifier(vae: TestNetworks.identityVAE(patch: 4, channels: 3))
        var rng = RandomSource(seed: 1)
        #expect(throws: PurificationError.self) { try purifier.purify(Tensor(shape: [1, 8, 8, 1]), rng: &rng) }
    }
}
