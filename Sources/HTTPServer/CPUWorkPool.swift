import Dispatch
import Foundation
import Synchronization

/// Runs CPU-bound request work (image decoding and resizing, multipart and JSON parsing,
/// encoding large replies) on a few dedicated dispatch queues, off Swift's cooperative pool.
///
/// The cooperative pool has one thread per core (two on a small node). Handlers, health
/// probes and signal-driven shutdown all need a thread from it; a handler that decodes a
/// 19 MB JSON body on it keeps `/healthz` waiting for seconds. Handlers therefore `await`
/// `run` for anything heavier than a few microseconds: the pool thread is released while
/// the work runs on one of `width` serial queues (round robin), which bounds how many such
/// jobs run at once without blocking any caller.
public final class CPUWorkPool: Sendable {
    /// The pool request handlers use: one queue per core.
    public static let shared = CPUWorkPool(width: ProcessInfo.processInfo.activeProcessorCount)

    private let queues: [DispatchQueue]
    private let next = Atomic<Int>(0)
    private let running = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)

    public init(width: Int, label: String = "vaeguard.cpu") {
        queues = (0..<max(1, width)).map { DispatchQueue(label: "\(label).\($0)", qos: .userInitiated) }
    }

    /// Jobs submitted and not yet finished.
    public var pending: Int { running.load(ordering: .relaxed) }

    /// Jobs run to the end so far.
    public var completed: Int { finished.load(ordering: .relaxed) }

    /// Runs `body` on one of the pool's queues and returns its result. A task cancelled
    /// before the job starts gets `CancellationError` without running it.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try Task.checkCancellation()
        let index = next.add(1, ordering: .relaxed).oldValue & Int.max
        let queue = queues[index % queues.count]
        let cancelled = Atomic<Bool>(false)
        running.add(1, ordering: .relaxed)
        defer { running.subtract(1, ordering: .relaxed) }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                queue.async {
                    if cancelled.load(ordering: .relaxed) {
                        continuation.resume(throwing: CancellationError())
                    } else {
                        let result = Result { try body() }
                        self.finished.add(1, ordering: .relaxed)
                        continuation.resume(with: result)
                    }
                }
            }
        } onCancel: {
            cancelled.store(true, ordering: .relaxed)
        }
    }
}
