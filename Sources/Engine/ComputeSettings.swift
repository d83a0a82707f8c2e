import Foundation

/// Process-wide compute settings, set once at start-up (by the CLI from configuration)
/// before any work runs; read-only afterwards.
public enum ComputeSettings {
    /// How many items the engine processes concurrently with Dispatch (per layer call).
    /// Default: the active core count. The engine parallelises itself, so OpenBLAS runs
    /// with one thread per call (see `BLASRuntime.setThreadCount`).
    nonisolated(unsafe) public static var parallelism: Int = ProcessInfo.processInfo.activeProcessorCount

    /// im2col rows per GEMM call: big enough to keep sgemm efficient, small enough that the
    /// column buffer (rows × k·k·C floats) stays in L2/L3 instead of growing with the batch.
    nonisolated(unsafe) public static var convBlockRows: Int = 2048

    /// How `Parallel.forEachChunk` hands chunks to the cores. Both are measured in
    /// docs/PERFORMANCE.md ("concurrentPerform or queues"); `concurrentPerform` is the default.
    nonisolated(unsafe) public static var dispatch: DispatchStrategy = .concurrentPerform
}

/// `concurrentPerform` runs one chunk on the calling thread and the others on Dispatch's
/// worker threads; `queues` submits every chunk to the global concurrent queue and waits on
/// a group (one more hand-off, but the caller's thread stays free of compute).
public enum DispatchStrategy: String, Sendable, CaseIterable {
    case concurrentPerform, queues
}
