import Foundation

/// How the engine spreads one layer call over the cores.
///
/// A value, not process-wide mutable state: the settings in effect are `ComputeSettings.current`,
/// a task-local. The CLI binds its configured settings around a command, and a test binds its own
/// without touching suites that run beside it:
///
/// ```swift
/// var settings = ComputeSettings.current
/// settings.parallelism = 1
/// ComputeSettings.$current.withValue(settings) { model.forward(x) }
/// ```
///
/// `Parallel.forEachChunk` binds the caller's settings on its worker threads too, so nested
/// engine calls (a grid worker running a model) see the same settings.
public struct ComputeSettings: Sendable, Equatable {
    /// How many items the engine processes concurrently with Dispatch (per layer call).
    /// Default: the active core count. The engine parallelises itself, so OpenBLAS runs
    /// with one thread per call (see `BLASRuntime.setThreadCount`).
    public var parallelism: Int

    /// im2col rows per GEMM call: big enough to keep sgemm efficient, small enough that the
    /// column buffer (rows × k·k·C floats) stays in L2/L3 instead of growing with the batch.
    public var convBlockRows: Int

    /// The largest column block (rows × row length × 4 bytes) a convolution builds before its
    /// GEMM: the block is written, then packed by sgemm, so it should stay in a core's L2 cache.
    /// 2048 rows of a 3×3×64 im2col are 4.7 MB, and 299² patch purification ran 1.3× faster with
    /// 256-row blocks (docs/PERFORMANCE.md, "Issue 21, session 6"). Caps `convBlockRows`.
    public var convBlockBytes: Int = 512 << 10

    /// How `Parallel.forEachChunk` hands chunks to the cores. Both are measured in
    /// docs/PERFORMANCE.md ("concurrentPerform or queues"); `queues` is the default, because
    /// on Linux `concurrentPerform`'s chunks occupy the threads of Swift's cooperative pool.
    public var dispatch: DispatchStrategy

    /// Whether one- and two-row products with large dense layers read a float16 copy of the
    /// weights (`HalfPrecisionMatrix`, where the CPU has F16C/AVX2/FMA): a batch-1 request is
    /// bound by streaming the weights, and float16 halves the stream. Batches keep float32.
    /// `VAEGUARD_HALF_WEIGHTS=0` turns it off for the CLI and the server.
    public var halfPrecisionWeights: Bool

    public init(parallelism: Int = ProcessInfo.processInfo.activeProcessorCount, convBlockRows: Int = 2048,
                dispatch: DispatchStrategy = .queues, halfPrecisionWeights: Bool = ComputeSettings.halfPrecisionFromEnvironment) {
        self.parallelism = parallelism
        self.convBlockRows = convBlockRows
        self.dispatch = dispatch
        self.halfPrecisionWeights = halfPrecisionWeights
    }

    /// Off when the environment has `VAEGUARD_HALF_WEIGHTS=0`, on otherwise.
    public static let halfPrecisionFromEnvironment = ProcessInfo.processInfo.environment["VAEGUARD_HALF_WEIGHTS"] != "0"

    /// The defaults: one chunk per active core, 2048-row blocks, `queues`, float16 batch-1 weights.
    public static let defaults = ComputeSettings()

    /// The settings in effect for the current task (or thread); `defaults` unless bound.
    @TaskLocal public static var current = ComputeSettings.defaults
}

/// `concurrentPerform` runs one chunk on the calling thread and the others on Dispatch's
/// default-QoS worker threads: on Linux those also run Swift's cooperative pool, so async tasks
/// (HTTP handlers, health probes) wait behind engine chunks while a batch computes. `queues`
/// submits helpers to the user-initiated global queue, whose threads are separate, and the
/// caller and the helpers claim chunks from a shared counter; a call nested in a chunk runs inline.
public enum DispatchStrategy: String, Sendable, CaseIterable {
    case concurrentPerform, queues
}

extension ComputeSettings {
    /// Rows per column block for rows of `rowLength` floats: `convBlockRows`, fewer where the
    /// block would outgrow `convBlockBytes`, at least 16 (sgemm wants some rows to amortise
    /// packing the weights).
    public func blockRows(rowLength: Int) -> Int {
        min(convBlockRows, max(16, convBlockBytes / (4 * max(1, rowLength))))
    }
}
