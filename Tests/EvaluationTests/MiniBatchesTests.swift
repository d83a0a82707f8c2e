import Testing
import Engine
@testable import Evaluation

/// Mini-batch cuts: fixed (independent of the workers) and balanced (every worker the same work).
@Suite("Mini-batches")
struct MiniBatchesTests {
    @Test(arguments: [
        (450, 2, 100, [Int](repeating: 75, count: 6)),
        (150, 2, 100, [75, 75]),
        (7, 2, 100, [4, 3]),
        (1, 2, 100, [1]),
        (0, 2, 100, []),
        (1000, 2, 100, [Int](repeating: 100, count: 10)),   // already even: the fixed-size batches
        (950, 2, 100, [Int](repeating: 95, count: 10)),
        (101, 1, 100, [51, 50]),
        (3, 4, 100, [1, 1, 1]),                             // never more batches than images
        (1000, 16, 100, [Int](repeating: 63, count: 8) + [Int](repeating: 62, count: 8)),
    ])
    func balancedSizes(count: Int, workers: Int, maxSize: Int, expected: [Int]) {
        let plan = MiniBatches.balanced(count: count, maxSize: maxSize, workers: workers)
        #expect(plan.sizes == expected)
    }

    /// Over many shapes: batches tile the images in order, hold at most `maxSize`, differ by at
    /// most one, and their number is a multiple of the workers unless every batch is one image
    /// (nothing finer exists).
    @Test func batches_tileTheImages_evenly() {
        for count in 0...260 {
            for workers in 1...5 {
                for maxSize in [1, 7, 50, 100] {
                    let plan = MiniBatches.balanced(count: count, maxSize: maxSize, workers: workers)
                    let ranges = (0..<plan.batches).map(plan.range)
                    #expect(ranges.map(\.lowerBound) == [0] + ranges.dropLast().map(\.upperBound) || count == 0)
                    #expect((ranges.last?.upperBound ?? 0) == count)
                    let sizes = plan.sizes
                    #expect(sizes.allSatisfy { $0 >= 1 && $0 <= maxSize })
                    #expect((sizes.max() ?? 0) - (sizes.min() ?? 0) <= 1)
                    #expect(plan.batches % workers == 0 || plan.batches == count)
                    // The fewest such batches: one fewer round per worker would overflow maxSize.
                    if plan.batches > workers { #expect((plan.batches - workers) * maxSize < count) }
                    // Each of forEachChunk's worker ranges gets the same number of batches.
                    let chunks = Parallel.chunkCount(count: plan.batches, maxChunks: workers)
                    let perChunk = (0..<chunks).map { i in plan.batches * (i + 1) / chunks - plan.batches * i / chunks }
                    #expect(Set(perChunk).count <= 1 || plan.batches == count)
                }
            }
        }
    }

    /// The fixed cut ignores the workers: batches of `size` and the remainder.
    @Test(arguments: [(450, 100, [100, 100, 100, 100, 50]), (7, 100, [7]), (0, 100, []), (200, 100, [100, 100]), (5, 2, [2, 2, 1])])
    func fixedSizes(count: Int, size: Int, expected: [Int]) {
        #expect(MiniBatches.fixed(count: count, size: size).sizes == expected)
    }
}
