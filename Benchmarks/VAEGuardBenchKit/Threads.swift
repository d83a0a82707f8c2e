import Engine
import Foundation

/// Thread settings for a benchmark process, from the environment so that one build can be
/// run in every configuration:
///   VAEGUARD_BENCH_ENGINE_THREADS  → `ComputeSettings.parallelism` of `settings` (default: the service's, = cores)
///   VAEGUARD_BENCH_BLAS_THREADS    → `BLASRuntime.setThreadCount` (default: the service's, 1)
///   VAEGUARD_BENCH_BLOCK_ROWS      → `ComputeSettings.convBlockRows` of `settings` (default: the engine's)
///   VAEGUARD_BENCH_BLOCK_BYTES     → `ComputeSettings.convBlockBytes` of `settings` (default: the engine's)
///   VAEGUARD_BENCH_PATCH_BATCH     → `PatchVAEPurifier.batchSize` of the patch rows (default: the purifier's)
///   VAEGUARD_BENCH_REF_THREADS     → OpenBLAS threads of the sgemm 1024³ reference that every
///                                    row's ratio divides by (default: `coresInUse`, 2 on the
///                                    2-core machines of docs/PERFORMANCE.md)
public enum BenchSettings {
    /// The engine settings every workload runs under (`bind`): the defaults, overridden by the
    /// environment. A value bound as a task-local, as the CLI binds its own, not global state.
    public static let settings: ComputeSettings = {
        let env = ProcessInfo.processInfo.environment
        var settings = ComputeSettings.defaults
        if let s = env["VAEGUARD_BENCH_ENGINE_THREADS"], let n = Int(s), n > 0 { settings.parallelism = n }
        if let s = env["VAEGUARD_BENCH_BLOCK_ROWS"], let n = Int(s), n > 0 { settings.convBlockRows = n }
        if let s = env["VAEGUARD_BENCH_BLOCK_BYTES"], let n = Int(s), n > 0 { settings.convBlockBytes = n }
        return settings
    }()

    /// Patches per VAE batch in the patch-purification rows, when the environment sets one.
    public static let patchBatch: Int? = Int(ProcessInfo.processInfo.environment["VAEGUARD_BENCH_PATCH_BATCH"] ?? "").flatMap { $0 > 0 ? $0 : nil }

    /// OpenBLAS's threads per call, from the environment (the engine's settings go through `bind`).
    public static func applyFromEnvironment() {
        BLASRuntime.setThreadCount(Int(ProcessInfo.processInfo.environment["VAEGUARD_BENCH_BLAS_THREADS"] ?? "") ?? 1)
    }

    /// Runs `body` with `settings` bound as the engine's compute settings.
    public static func bind<T>(_ body: () throws -> T) rethrows -> T {
        try ComputeSettings.$current.withValue(settings, operation: body)
    }

    /// `work`'s body, built and run with `settings` bound.
    public static func bound(_ work: Workload) -> @Sendable () -> Void {
        let body = bind(work.make)
        return { bind(body) }
    }

    /// Cores the work may use: the engine's workers times BLAS's threads per call.
    public static var coresInUse: Int { max(settings.parallelism, BLASRuntime.threadCount) }

    /// Threads of the raw-sgemm reference: issue 21 states its goals against 2-thread sgemm.
    public static var referenceThreads: Int {
        Int(ProcessInfo.processInfo.environment["VAEGUARD_BENCH_REF_THREADS"] ?? "").flatMap { $0 > 0 ? $0 : nil } ?? coresInUse
    }

    public static var summary: String {
        "engine parallelism \(settings.parallelism), OpenBLAS threads \(BLASRuntime.threadCount), "
            + "convBlockRows \(settings.convBlockRows), convBlockBytes \(settings.convBlockBytes), BLAS kernel \(BLASRuntime.coreName)"
    }
}

/// Raw sgemm 1024³ GFLOPS on `threads` OpenBLAS threads: the best of `repeats` calls (the best
/// call is the least disturbed by other load on a shared machine). Restores the thread count.
public func referenceSGEMMGFLOPS(threads: Int, repeats: Int = 7) -> Double {
    let saved = BLASRuntime.threadCount
    BLASRuntime.setThreadCount(threads)
    defer { BLASRuntime.setThreadCount(saved) }
    let work = sgemmWorkload("ref", m: 1024, n: 1024, k: 1024)
    let body = work.make()
    body()
    let best = bestTime(repeats: repeats, body)
    return work.flops / best / 1e9
}

/// Best (minimum) wall time in seconds of `repeats` calls.
public func bestTime(repeats: Int, _ body: () -> Void) -> Double {
    var best = Double.infinity
    let clock = ContinuousClock()
    for _ in 0..<max(1, repeats) {
        let d = clock.measure(body)
        best = min(best, Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18)
    }
    return best
}
