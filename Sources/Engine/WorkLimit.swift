import Dispatch
import Synchronization

/// Why running work stopped before it finished.
public enum WorkStop: Error, Sendable, Equatable, CustomStringConvertible {
    /// Everyone waiting for the result went away (the client disconnected).
    case cancelled
    /// The work ran longer than its running-time budget (seconds).
    case overBudget(seconds: Double)

    public var description: String {
        switch self {
        case .cancelled: "the work was cancelled: the client went away"
        case .overBudget(let s): "the work ran longer than its running-time budget of \(s) s"
        }
    }
}

/// A cancellation flag set by whoever waits for a job (from any thread).
public final class CancelFlag: Sendable {
    private let flag = Atomic<Bool>(false)

    public init() {}

    public func cancel() { flag.store(true, ordering: .relaxed) }
    public var isCancelled: Bool { flag.load(ordering: .relaxed) }
}

/// What long-running loops check between blocks of work (patch batches, samples): the
/// flags of the requests the work is for, and a running-time deadline.
///
/// The scheduler binds one to the inference thread for the duration of a job
/// (`WorkLimit.$current.withValue`, which works on plain threads too), so purifiers check it
/// without every signature in between carrying it; code run outside a job sees `nil` and
/// never stops early.
public final class WorkLimit: Sendable {
    @TaskLocal public static var current: WorkLimit?

    /// The work stops once every one of these is cancelled.
    private let flags: [CancelFlag]
    private let deadline: UInt64
    public let budgetSeconds: Double

    /// A limit that starts now and allows `runningTime` seconds.
    public init(flags: [CancelFlag], runningTime: Double) {
        self.flags = flags
        self.budgetSeconds = runningTime
        let nanos = runningTime * 1e9
        self.deadline = DispatchTime.now().uptimeNanoseconds &+ (nanos >= 1.8e19 ? UInt64.max / 2 : UInt64(max(0, nanos)))
    }

    public var isCancelled: Bool { !flags.isEmpty && flags.allSatisfy(\.isCancelled) }

    /// Throws when the work should stop.
    public func check() throws(WorkStop) {
        if isCancelled { throw .cancelled }
        if DispatchTime.now().uptimeNanoseconds > deadline { throw .overBudget(seconds: budgetSeconds) }
    }

    /// `check()` on the limit bound to this thread or task, if any.
    public static func checkCurrent() throws(WorkStop) {
        try current?.check()
    }
}
