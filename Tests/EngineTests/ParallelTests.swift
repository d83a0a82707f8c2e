import Testing
@testable import Engine

/// Both ways of handing chunks to the cores cover every index exactly once, in disjoint ranges.
@Suite("Parallel.forEachChunk")
struct ParallelTests {
    @Test(arguments: DispatchStrategy.allCases)
    func chunks_coverEveryIndexOnce(_ strategy: DispatchStrategy) {
        var settings = ComputeSettings.current
        settings.dispatch = strategy
        ComputeSettings.$current.withValue(settings) { checkCoverage(strategy) }
    }

    private func checkCoverage(_ strategy: DispatchStrategy) {
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

    /// Worker threads do not inherit task-locals by themselves: `forEachChunk` binds the caller's.
    @Test(arguments: DispatchStrategy.allCases)
    func boundSettings_areSeenInEveryChunk(_ strategy: DispatchStrategy) {
        let seen = UnsafeMutableBufferPointer<Int>.allocate(capacity: 8)
        seen.initialize(repeating: 0)
        defer { seen.deallocate() }
        ComputeSettings.$current.withValue(ComputeSettings(parallelism: 7, convBlockRows: 11, dispatch: strategy)) {
            Parallel.forEachChunk(count: 8, maxChunks: 8) { range in
                for i in range { seen[i] = ComputeSettings.current.parallelism * 100 + ComputeSettings.current.convBlockRows }
            }
        }
        #expect(seen.allSatisfy { $0 == 711 }, "\(strategy): \(Array(seen))")
        #expect(ComputeSettings.current == .defaults)
    }
}
