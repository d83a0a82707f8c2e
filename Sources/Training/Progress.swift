import Foundation
import Synchronization
import CSupport

/// A one-line progress bar on standard error: epoch, step, loss, images/s and ETA. Redraws in
/// place on a terminal; prints a line every `plainInterval` seconds otherwise (logs, CI).
public final class ProgressBar: Sendable {
    private let total: Int
    private let label: String
    private let start = Date()
    private let lastPrint = Mutex(Date.distantPast)
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private let plainInterval: TimeInterval

    public init(total: Int, label: String, plainInterval: TimeInterval = 30) {
        self.total = total
        self.label = label
        self.plainInterval = plainInterval
    }

    public func update(step: Int, items: Int, extra: String) {
        let now = Date()
        let interval = isTerminal ? 0.2 : plainInterval
        let due = lastPrint.withLock { last in
            guard now.timeIntervalSince(last) >= interval || step == total else { return false }
            last = now
            return true
        }
        guard due else { return }
        let elapsed = now.timeIntervalSince(start)
        let rate = Double(items) / max(elapsed, 1e-9)
        let eta = step > 0 ? elapsed / Double(step) * Double(total - step) : 0
        let width = 24
        let filled = total > 0 ? width * step / total : width
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let line = String(format: "%@ [%@] %d/%d %@ %.0f img/s ETA %@", label, bar, step, total, extra, rate,
                          ProgressBar.format(eta))
        Self.write((isTerminal ? "\r\u{1B}[K" : "") + line + (isTerminal ? "" : "\n"))
    }

    public func finish() {
        if isTerminal { Self.write("\n") }
    }

    /// write(2), not `FileHandle.write`, which traps on EPIPE when stderr is a closed pipe;
    /// a progress line that cannot be written is simply lost.
    private static func write(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { vg_write_all(STDERR_FILENO, $0.baseAddress, $0.count) }
    }

    static func format(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) : String(format: "%dm%02ds", s / 60, s % 60)
    }
}
