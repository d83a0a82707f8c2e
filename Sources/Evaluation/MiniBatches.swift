/// How `count` images are cut into mini-batches, each drawing its own random stream.
///
/// `fixed`: batches of `size` images and a remainder, whatever the worker count, so randomized
/// results do not depend on `--workers` (the attack grid, whose published numbers must
/// reproduce anywhere). `balanced`: the fewest batches of at most `maxSize` whose number is a
/// multiple of `workers` (never more batches than images), sizes within one, so
/// `Parallel.forEachChunk(count: batches, maxChunks: workers)` gives every worker the same work.
/// The strong suite uses it: its cascade attacks shrinking survivor sets, and fixed batches left
/// cores idle there (450 images in batches of 100 on 2 workers ran 3 batches against 2; any set
/// of at most 100 ran on one core). Its boundaries, and so its random streams, follow `workers`
/// unless `count` is a multiple of `maxSize × workers`.
public struct MiniBatches: Sendable, Equatable {
    public let count: Int
    public let batches: Int
    /// The size of every batch but the last in the fixed cut; nil when balanced.
    private let fixedSize: Int?

    public static func fixed(count: Int, size: Int) -> MiniBatches {
        let count = max(0, count), size = max(1, size)
        return MiniBatches(count: count, batches: (count + size - 1) / size, fixedSize: size)
    }

    public static func balanced(count: Int, maxSize: Int, workers: Int) -> MiniBatches {
        let count = max(0, count), size = max(1, maxSize), w = max(1, workers)
        let fewest = (count + size - 1) / size
        return MiniBatches(count: count, batches: min(count, (fewest + w - 1) / w * w), fixedSize: nil)
    }

    /// The images of batch `i`. Balanced: the first `count % batches` batches hold one more.
    public func range(_ i: Int) -> Range<Int> {
        if let s = fixedSize { return (i * s)..<min(count, (i + 1) * s) }
        let q = count / batches, r = count % batches
        let lo = i * q + min(i, r)
        return lo..<(lo + q + (i < r ? 1 : 0))
    }

    public var sizes: [Int] { (0..<batches).map { range($0).count } }
}
