import Testing
@testable import Engine

/// Both ways of handing chunks to the cores cover every index exactly once, in disjoint ranges.
@Suite("Parallel.forEachChunk", .serialized)
struct ParallelTests {
    @Test(arguments: DispatchStrategy.allCases)
    func chunks_coverEveryIndexOnce(_ strategy: DispatchStrategy) {
        let previous = ComputeSettings.dispatch
        ComputeSettings.dispatch = strategy
        defer { ComputeSettings.dispatch = previous }
        for (count, chunks) in [(0, 4), (1, 4), (7, 2), (1000, 3), (5, 8)] {
            let hits = UnsafeMutableBufferPointer<Int>.allocate(capacity: max(1, count))
            hits.initialize(repeating: 0)
            defer { hits.deallocate() }
            Parallel.forEachChunk(count: count, maxChunks: chunks) { range in
                for i in range { hits[i] += 1 }
            }
            #expect(hits.prefix(count).allSatisfy { $0 == 1 }, "\(strategy) count \(count) chunks \(chunks)")
        }
    }
}
