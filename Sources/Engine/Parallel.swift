import Dispatch
import Synchronization

/// Splitting work over the cores with Dispatch.
public enum Parallel {
    /// Runs `body(range)` over `0..<count` split into at most `maxChunks` contiguous ranges,
    /// concurrently. With one chunk it runs inline (no thread hand-off).
    public static func forEachChunk(count: Int, maxChunks: Int, _ body: (Range<Int>) -> Void) {
        forEachChunk(count: count, maxChunks: maxChunks) { _, range in body(range) }
    }

    /// Whether this thread runs a `.queues` chunk: a nested `forEachChunk` then runs inline rather
    /// than block a worker on work queued behind the chunks that occupy the cores.
    @TaskLocal static var isInsideChunk = false

    /// The number of chunks `forEachChunk` will use.
    public static func chunkCount(count: Int, maxChunks: Int) -> Int { max(1, min(maxChunks, count)) }

    /// Work below which a chunk is not worth handing to another thread: about 25 µs of sgemm on
    /// one core. A hand-off costs microseconds on an idle machine, and on a busy one the caller
    /// waits for a descheduled worker far longer, so small layers (batch-1 requests) run inline.
    public static let minFLOPsPerChunk = 2e6

    /// How many chunks a piece of work of `flops` operations over `count` rows deserves: at most
    /// `maxChunks`, at most one per `minFLOPsPerChunk` and one per `minRows` rows, at least one.
    /// Splitting rows never changes results (each row's sums are computed the same way).
    public static func chunkCount(flops: Double, count: Int, maxChunks: Int, minRows: Int = 16) -> Int {
        let byWork = Int(flops / minFLOPsPerChunk)
        return max(1, min(maxChunks, byWork, count / max(1, minRows)))
    }

    /// Like `forEachChunk(count:maxChunks:_:)`, also passing the chunk's index in
    /// `0..<chunkCount(count:maxChunks:)` (for per-chunk partial results).
    public static func forEachChunk(count: Int, maxChunks: Int, _ body: (Int, Range<Int>) -> Void) {
        let chunks = chunkCount(count: count, maxChunks: maxChunks)
        let settings = ComputeSettings.current
        if chunks == 1 || (settings.dispatch == .queues && isInsideChunk) {
            // One chunk, or a call nested in a chunk that already occupies a core: run the chunks
            // here, in order (as a nested `concurrentPerform` does once the outer one fills the cores).
            for i in 0..<chunks {
                let lo = count * i / chunks, hi = count * (i + 1) / chunks
                if lo < hi { body(i, lo..<hi) }
            }
            return
        }
        // Worker threads do not inherit task-locals: bind the caller's settings there (only
        // when they differ from the defaults, so the common case costs nothing).
        let rebind = settings != .defaults
        withoutActuallyEscaping(body) { body in
            // The chunks write disjoint memory by contract (callers split outputs by range), so
            // handing the closure to other threads is safe even though the compiler cannot see it.
            let shared = UncheckedSendable(body)
            let run: @Sendable (Int) -> Void = { i in
                let lo = count * i / chunks, hi = count * (i + 1) / chunks
                guard lo < hi else { return }
                if rebind {
                    ComputeSettings.$current.withValue(settings) { shared.value(i, lo..<hi) }
                } else {
                    shared.value(i, lo..<hi)
                }
            }
            switch settings.dispatch {
            case .concurrentPerform:
                DispatchQueue.concurrentPerform(iterations: chunks, execute: run)
            case .queues:
                // `chunks - 1` helpers go to the user-initiated global queue, whose worker threads
                // are not the default-QoS ones that Swift's cooperative pool runs on (Linux). The
                // caller and the helpers claim chunk indices from one counter, so a helper that
                // starts late (a descheduled worker on a busy machine) finds the work done by the
                // caller instead of holding it up, as `concurrentPerform` does. The claiming
                // threads are marked, so calls nested in a chunk run inline.
                let next = ChunkCounter()
                let drain: @Sendable () -> Void = {
                    Parallel.$isInsideChunk.withValue(true) {
                        while case let i = next.value.wrappingAdd(1, ordering: .relaxed).oldValue, i < chunks { run(i) }
                    }
                }
                let group = DispatchGroup()
                let queue = DispatchQueue.global(qos: .userInitiated)
                for _ in 1..<chunks { queue.async(group: group, execute: drain) }
                drain()
                group.wait()
            }
        }
    }
}

/// The next unclaimed chunk index of one `.queues` call.
final class ChunkCounter: Sendable {
    let value = Atomic<Int>(0)
}

/// Wraps a value the caller guarantees is used race-free across threads.
// Why unchecked: hands a non-escaping chunk closure to Dispatch workers; chunks write disjoint memory by contract.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
