import CSupport
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the log handlers' lines go: a file descriptor written with write(2), never
/// Foundation's `FileHandle.write`, which traps (SIGILL) when the reader has gone (EPIPE).
///
/// A dying log shipper must never take the service down (issue #16): a line that cannot be
/// written is dropped and counted, and the count is exported on `/metrics` as
/// `vaeguard_log_lines_dropped_total`. Lines are written whole, one writer at a time, so
/// lines longer than the pipe's atomic size never interleave. SIGPIPE is ignored (unless the
/// process already handles it) before the first write, so EPIPE is returned, not delivered.
public enum LogOutput {
    private static let dropped = Atomic<Int>(0)
    private static let writing = Mutex(())
    private static let ignoreSIGPIPE: Void = vg_ignore_sigpipe()

    /// Lines dropped since the process started (write failures: EPIPE, EBADF, ENOSPC, …).
    public static var droppedLines: Int { dropped.load(ordering: .relaxed) }

    /// Writes `line` (which should end in a newline) to `fd`; `false` when it was dropped.
    @discardableResult
    public static func write(_ line: [UInt8], to fd: Int32 = STDERR_FILENO) -> Bool {
        _ = ignoreSIGPIPE
        let status = writing.withLock { _ in line.withUnsafeBytes { vg_write_all(fd, $0.baseAddress, $0.count) } }
        if status != 0 { dropped.add(1, ordering: .relaxed) }
        return status == 0
    }

    /// The drop counter in Prometheus text exposition, appended to `/metrics`.
    static func prometheusText() -> String {
        "# HELP vaeguard_log_lines_dropped_total Log lines dropped because stderr could not take them.\n# TYPE vaeguard_log_lines_dropped_total counter\nvaeguard_log_lines_dropped_total \(droppedLines)\n"
    }
}
