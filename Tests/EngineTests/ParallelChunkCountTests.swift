import Testing
@testable import Engine

/// `chunkCount(flops:count:maxChunks:minRows:)` keeps small work inline and splits big work.
@Suite("Parallel.chunkCount by work")
struct ParallelChunkCountTests {
    @Test func smallWork_runsInline() {
        // MNIST VAE conv 1→16 at 28×28, batch 1: 0.23 MFLOP, far below one chunk's worth.
        #expect(Parallel.chunkCount(flops: 2 * 784 * 9 * 16, count: 784, maxChunks: 2) == 1)
        #expect(Parallel.chunkCount(flops: 0, count: 1000, maxChunks: 8) == 1)
    }

    @Test func bigWork_usesEveryCore() {
        // MNIST conv 32→64 at 14×14, batch 1: 20 MFLOP over 196 rows.
        #expect(Parallel.chunkCount(flops: 2 * 196 * 800 * 64, count: 196, maxChunks: 2) == 2)
        #expect(Parallel.chunkCount(flops: 1e12, count: 1 << 20, maxChunks: 16) == 16)
    }

    @Test func chunks_areBoundedByRowsAndWork() {
        #expect(Parallel.chunkCount(flops: 1e12, count: 40, maxChunks: 16, minRows: 16) == 2)
        #expect(Parallel.chunkCount(flops: 3 * Parallel.minFLOPsPerChunk, count: 1 << 20, maxChunks: 16) == 3)
        #expect(Parallel.chunkCount(flops: 1e12, count: 3, maxChunks: 16, minRows: 16) == 1)
    }
}
