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

/// A `.queues` call nested in a chunk runs inline, and still covers every index once.
@Suite("Parallel.forEachChunk nested")
struct ParallelNestingTests {
    @Test(arguments: DispatchStrategy.allCases)
    func nestedCalls_coverEveryIndexOnce(_ strategy: DispatchStrategy) {
        let hits = UnsafeMutableBufferPointer<Int>.allocate(capacity: 4 * 50)
        hits.initialize(repeating: 0)
        defer { hits.deallocate() }
        ComputeSettings.$current.withValue(ComputeSettings(parallelism: 4, dispatch: strategy)) {
            Parallel.forEachChunk(count: 4, maxChunks: 4) { outer in
                for o in outer {
                    Parallel.forEachChunk(count: 50, maxChunks: 3) { inner in
                        for i in inner { hits[o * 50 + i] += 1 }
                    }
                }
            }
        }
        #expect(hits.allSatisfy { $0 == 1 }, "\(strategy)")
    }

    @Test func queuesChunk_marksItsThread() {
        let marks = UnsafeMutableBufferPointer<Bool>.allocate(capacity: 2)
        marks.initialize(repeating: false)
        defer { marks.deallocate() }
        ComputeSettings.$current.withValue(ComputeSettings(parallelism: 2, dispatch: .queues)) {
            Parallel.forEachChunk(count: 2, maxChunks: 2) { range in
                for i in range { marks[i] = Parallel.isInsideChunk }
            }
        }
        #expect(marks.allSatisfy { $0 })
        #expect(!Parallel.isInsideChunk)
    }
}
