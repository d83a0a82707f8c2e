/// Mini-batch boundaries that keep every worker equally busy.
///
/// `count` images split into the fewest batches of at most `maxSize` whose number is a multiple
/// of `workers` (never more batches than images), with sizes differing by at most one: then
/// `Parallel.forEachChunk(count: batches, maxChunks: workers)` hands each worker the same number
/// of batches and nearly the same number of images. Fixed-size batches left cores idle on the
/// strong suite's survivor sets (450 images in batches of 100 on 2 workers ran 3 batches
/// against 2; any set of at most 100 ran on one core).
///
/// When `count` is a multiple of `maxSize × workers` the batches are the fixed-size ones. In
/// general the boundaries, and so the per-batch random streams, depend on `workers`.
public struct BalancedBatches: Sendable, Equatable {
    public let count: Int
    public let batches: Int

    public init(count: Int, maxSize: Int, workers: Int) {
        let count = max(0, count), size = max(1, maxSize), w = max(1, workers)
        let fewest = (count + size - 1) / size
        self.count = count
        batches = min(count, (fewest + w - 1) / w * w)
    }

    /// The images of batch `i`: the first `count % batches` batches hold one more.
    public func range(_ i: Int) -> Range<Int> {
        let q = count / batches, r = count % batches
        let lo = i * q + min(i, r)
        return lo..<(lo + q + (i < r ? 1 : 0))
    }

    public var sizes: [Int] { (0..<batches).map { range($0).count } }
}
