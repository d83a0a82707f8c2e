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
}
