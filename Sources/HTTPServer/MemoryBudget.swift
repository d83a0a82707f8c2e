import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

// MARK: - MemoryBudget

/// A process-wide allowance of bytes that callers reserve before they allocate and release
/// when they are done: request bytes held by connections (`HTTPServer`), decoded pixels
/// held by queued and running jobs (the service). A reservation that does not fit fails at
/// once, so the caller can shed load (503 + `Retry-After`) instead of growing without bound.
public final class MemoryBudget: Sendable {
    /// Most bytes reserved at once.
    public let limit: Int
    private let used = Atomic<Int>(0)

    public init(limit: Int) { self.limit = max(0, limit) }

    /// Bytes reserved now.
    public var inUse: Int { used.load(ordering: .relaxed) }

    /// Reserves `bytes` if they fit under `limit`; `false` (and nothing reserved) otherwise.
    public func tryReserve(_ bytes: Int) -> Bool {
        guard bytes > 0 else { return true }
        var current = used.load(ordering: .relaxed)
        while true {
            guard bytes <= limit - current else { return false }
            let (exchanged, original) = used.compareExchange(expected: current, desired: current + bytes,
                                                             ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
    }

    /// Gives back `bytes` reserved earlier and tells the trimmer that memory was freed.
    public func release(_ bytes: Int) {
        guard bytes > 0 else { return }
        used.subtract(bytes, ordering: .relaxed)
        MemoryTrimmer.shared.noteFreed(bytes)
    }
}

// MARK: - MemoryTrimmer

/// Returns freed heap memory to the kernel after bursts.
///
/// glibc keeps freed memory in its arenas (its mmap threshold grows to 32 MiB after large
/// frees, and every thread that allocated has its own arena), so after a burst of large
/// requests RSS stays near the peak. `malloc_trim(0)` walks all arenas and gives back whole
/// free pages. It costs milliseconds on a large heap, so it runs at most once per
/// `minimumInterval`, only after at least `threshold` bytes were freed, off the I/O queues.
public final class MemoryTrimmer: Sendable {
    public static let shared = MemoryTrimmer()

    /// Bytes freed since the last trim that make the next one worthwhile.
    public let threshold = 16 << 20
    public let minimumInterval: UInt64 = 1_000_000_000
    private let freed = Atomic<Int>(0)
    private let lastTrim = Atomic<UInt64>(0)
    private let trims = Atomic<Int>(0)
    private let queue = DispatchQueue(label: "vaeguard.memory-trim", qos: .utility)

    /// Times `malloc_trim` has run (for tests and metrics).
    public var trimCount: Int { trims.load(ordering: .relaxed) }

    /// Records that `bytes` of large buffers were freed; trims soon if enough were.
    public func noteFreed(_ bytes: Int) {
        let total = freed.add(bytes, ordering: .relaxed).newValue
        if total >= threshold { trimIfDue() }
    }

    /// Trims now (asynchronously) if enough was freed and the last trim is old enough.
    public func trimIfDue() {
        guard freed.load(ordering: .relaxed) >= threshold else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        let last = lastTrim.load(ordering: .relaxed)
        guard now &- last >= minimumInterval,
              lastTrim.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged else { return }
        freed.store(0, ordering: .relaxed)
        queue.async { [self] in
            if let trim = Self.mallocTrim { _ = trim(0) }
            trims.add(1, ordering: .relaxed)
        }
    }

    /// glibc's `malloc_trim`, looked up at run time: it is declared in `<malloc.h>`, which
    /// the Glibc module does not export (nil on other C libraries).
    private static let mallocTrim: (@convention(c) (Int) -> Int32)? = {
        #if canImport(Glibc)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
        #else
        return nil
        #endif
    }()
}
