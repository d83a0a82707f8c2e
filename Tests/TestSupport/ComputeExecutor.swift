import Foundation
import Synchronization
import Testing

/// A task executor with its own few threads, for tests that compute for seconds.
///
/// swift-testing runs every test as a task on Swift's cooperative pool, which has one thread
/// per core: two on a small CI node. A test that trains or evaluates a model holds such a
/// thread for its whole run, because synchronous work never suspends. The pool then has no
/// thread left for the HTTP server's handler tasks and for the socket tests that wait on
/// them, and their deadlines expire while nothing is wrong with the server. Tests that run
/// here keep the cooperative pool free; the kernel, not the pool, shares the cores.
public final class ComputeExecutor: TaskExecutor {
    /// The executor `.computeBound` tests run on: one thread per core, at least two, so
    /// compute tests compete with each other but never with the cooperative pool.
    public static let shared = ComputeExecutor(threads: max(2, ProcessInfo.processInfo.activeProcessorCount))

    private let jobs = Mutex<[UnownedJob]>([])
    private let available = DispatchSemaphore(value: 0)
    private let threadIDs = Mutex<[pthread_t]>([])

    public init(threads: Int) {
        for index in 0..<max(1, threads) {
            Thread.detachNewThread { [self] in
                Thread.current.name = "test.compute.\(index)"
                threadIDs.withLock { $0.append(pthread_self()) }
                work()
            }
        }
    }

    /// Whether the calling thread is one of this executor's.
    public var runsCurrentThread: Bool {
        let me = pthread_self()
        return threadIDs.withLock { $0.contains { pthread_equal($0, me) != 0 } }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        jobs.withLock { $0.append(job) }
        available.signal()
    }

    /// Runs jobs in the order they came, forever (the threads live as long as the process).
    private func work() {
        while true {
            available.wait()
            let job = jobs.withLock { $0.removeFirst() }
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}

/// Runs each test of a suite (or one test) on `ComputeExecutor.shared` instead of the
/// cooperative pool: mark every suite whose tests compute for more than a moment.
public struct ComputeBoundTrait: TestTrait, SuiteTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? {
        test.isSuite ? nil : self
    }

    public func provideScope(for test: Test, testCase: Test.Case?,
                             performing function: @Sendable () async throws -> Void) async throws {
        // A child task that prefers the executor starts on it (`withTaskExecutorPreference`
        // alone leaves the synchronous start of the test on the current pool thread). The
        // group waits for it, so `function` does not outlive this call.
        try await withoutActuallyEscaping(function) { function in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask(executorPreference: ComputeExecutor.shared) { try await function() }
                try await group.waitForAll()
            }
        }
    }
}

extension Trait where Self == ComputeBoundTrait {
    /// The test (or every test in the suite) computes for seconds: run it off the
    /// cooperative pool, on `ComputeExecutor.shared`.
    public static var computeBound: Self { ComputeBoundTrait() }
}
