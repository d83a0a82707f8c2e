import Foundation
import Engine
import Purification

/// Dynamic micro-batching with a bounded queue, as TorchServe and Triton do it.
///
/// Handlers `submit` work and await the result. Worker threads (one per core by default,
/// plain `Thread`s so CPU-bound inference never blocks Swift's cooperative pool) take the
/// oldest job and gather queued jobs with the same batch key (same model, options and image
/// shape) until `maxBatchSize` images, waiting up to `maxWait` for more while another batch
/// is running (under load), then run them as one forward pass. A full queue answers 503 at once; a job that waited past its deadline is
/// answered 503 without being run.
///
/// A waiting handler whose task is cancelled (its client went away) drops its queued job at
/// once; running work sees the cancellation, and its running-time budget (`maxRunTime`),
/// through the `WorkLimit` bound to the inference thread, between patch blocks and samples.
// Why unchecked: the queue is guarded by `condition` (NSCondition): workers wait on it, which `Mutex` cannot do.
public final class BatchScheduler: @unchecked Sendable {
    public struct Settings: Sendable {
        public var maxBatchSize: Int
        public var maxWait: TimeInterval
        public var queueCapacity: Int
        public var timeout: TimeInterval
        public var workers: Int
        /// Longest a job may run once started (seconds).
        public var maxRunTime: TimeInterval = 120

        public init(maxBatchSize: Int, maxWait: TimeInterval, queueCapacity: Int, timeout: TimeInterval, workers: Int,
                    maxRunTime: TimeInterval = 120) {
            self.maxBatchSize = maxBatchSize
            self.maxWait = maxWait
            self.queueCapacity = queueCapacity
            self.timeout = timeout
            self.workers = workers
            self.maxRunTime = maxRunTime
        }
    }

    /// What a job does: a batchable classification, or any other unit of work.
    enum Work {
        case classify(model: DefendedModel, images: Tensor, defense: ResolvedDefense,
                      continuation: CheckedContinuation<[DefendedModel.Result], any Error>)
        case task(run: () -> Void, reject: (any Error) -> Void)
    }

    struct Job {
        let key: String?
        let work: Work
        let imageCount: Int
        let deadline: Date
        /// Set when the waiting handler is cancelled.
        let flag: CancelFlag

        func reject(_ error: any Error) {
            switch work {
            case .classify(_, _, _, let c): c.resume(throwing: error)
            case .task(_, let reject): reject(error)
            }
        }
    }

    public let settings: Settings
    private let condition = NSCondition()
    private var queue: [Job] = []
    /// Batches being executed now.
    private var running = 0
    private var stopped = false
    private var threads: [Thread] = []
    let metrics: ServiceMetrics?

    public init(settings: Settings, metrics: ServiceMetrics? = nil) {
        self.settings = settings
        self.metrics = metrics
        for i in 0..<max(1, settings.workers) {
            let t = Thread { [weak self] in self?.workerLoop() }
            t.name = "vaeguard-inference-\(i)"
            t.stackSize = 8 << 20
            threads.append(t)
            t.start()
        }
    }

    deinit { stop() }

    /// Jobs waiting now.
    public var depth: Int { condition.withLock { queue.count } }

    /// Batches running now.
    public var runningBatches: Int { condition.withLock { running } }

    /// Whether a job submitted now would be refused for lack of queue space.
    public var isFull: Bool { condition.withLock { queue.count >= settings.queueCapacity } }

    /// Purifies and classifies `images` (`[N, H, W, C]`) with the defense the handler resolved
    /// (so the purifier is built once per request), batched with compatible requests.
    public func classify(model: DefendedModel, images: Tensor, defense: ResolvedDefense) async throws -> [DefendedModel.Result] {
        // Seeded requests must be reproducible whatever else is queued, so they run alone.
        let options = defense.options
        let key = options.seed == nil ? "\(model.name)|\(options)|\(images.shape.dropFirst())" : nil
        let flag = CancelFlag()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                enqueue(Job(key: key, work: .classify(model: model, images: images, defense: defense, continuation: continuation),
                            imageCount: images.batchSize, deadline: Date().addingTimeInterval(settings.timeout), flag: flag),
                        onReject: { continuation.resume(throwing: $0) })
            }
        } onCancel: {
            cancel(flag)
        }
    }

    /// Runs `body` on an inference thread under the same queue bound and deadline.
    /// Purification errors come back as `ServiceError`s.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let flag = CancelFlag()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                let job = Job(key: nil, work: .task(run: {
                    do {
                        continuation.resume(returning: try body())
                    } catch let error as PurificationError {
                        if case .stopped = error { self.metrics?.rejected(reason: "stopped") }
                        continuation.resume(throwing: ServiceError.from(error))
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }, reject: { continuation.resume(throwing: $0) }), imageCount: 1,
                              deadline: Date().addingTimeInterval(settings.timeout), flag: flag)
                enqueue(job, onReject: { continuation.resume(throwing: $0) })
            }
        } onCancel: {
            cancel(flag)
        }
    }

    /// The waiting handler went away: a queued job is dropped now (answered with
    /// `CancellationError`); a running one stops at its next `WorkLimit` check.
    private func cancel(_ flag: CancelFlag) {
        flag.cancel()
        condition.lock()
        guard let index = queue.firstIndex(where: { $0.flag === flag }) else {
            condition.unlock()
            return
        }
        let job = queue.remove(at: index)
        metrics?.queueDepth(queue.count)
        condition.unlock()
        metrics?.rejected(reason: "cancelled")
        job.reject(CancellationError())
    }

    public func stop() {
        condition.withLock {
            stopped = true
            condition.broadcast()
        }
    }

    // MARK: - Queue

    private func enqueue(_ job: Job, onReject: (any Error) -> Void) {
        // Cancelled before it was queued (the cancellation handler found nothing to drop).
        if job.flag.isCancelled {
            metrics?.rejected(reason: "cancelled")
            onReject(CancellationError())
            return
        }
        condition.lock()
        if stopped || queue.count >= settings.queueCapacity {
            condition.unlock()
            metrics?.rejected(reason: stopped ? "stopping" : "queue_full")
            onReject(ServiceError.overloaded(retryAfter: 1))
            return
        }
        queue.append(job)
        metrics?.queueDepth(queue.count)
        condition.signal()
        condition.unlock()
    }

    private func workerLoop() {
        while true {
            condition.lock()
            while queue.isEmpty && !stopped { condition.wait() }
            if stopped && queue.isEmpty {
                condition.unlock()
                return
            }
            var batch = [queue.removeFirst()]
            if let key = batch[0].key {
                // Wait for companions only while another batch is running: then requests are
                // arriving faster than one worker serves them and waiting fills batches. An
                // idle server runs a lone request at once instead of adding `maxWait` to it.
                let waits = running > 0
                let until = Date().addingTimeInterval(settings.maxWait)
                var images = batch[0].imageCount
                while images < settings.maxBatchSize {
                    if let i = queue.firstIndex(where: { $0.key == key && images + $0.imageCount <= settings.maxBatchSize }) {
                        images += queue[i].imageCount
                        batch.append(queue.remove(at: i))
                        continue
                    }
                    if !waits || stopped || !condition.wait(until: until) { break }
                }
            }
            running += 1
            metrics?.queueDepth(queue.count)
            condition.unlock()
            execute(batch)
            condition.withLock { running -= 1 }
        }
    }

    private func execute(_ batch: [Job]) {
        let now = Date()
        let live = batch.filter { job in
            if job.flag.isCancelled {
                metrics?.rejected(reason: "cancelled")
                job.reject(CancellationError())
                return false
            }
            guard job.deadline < now else { return true }
            metrics?.rejected(reason: "deadline")
            job.reject(ServiceError.timedOut("request waited longer than its deadline"))
            return false
        }
        guard !live.isEmpty else { return }
        let limit = WorkLimit(flags: live.map(\.flag), runningTime: settings.maxRunTime)
        WorkLimit.$current.withValue(limit) { run(live) }
    }

    private func run(_ live: [Job]) {
        switch live[0].work {
        case .task(let run, _):
            run()
        case .classify(let model, _, let defense, _):
            var parts: [Tensor] = []
            var continuations: [(CheckedContinuation<[DefendedModel.Result], any Error>, Int)] = []
            for job in live {
                guard case .classify(_, let images, _, let c) = job.work else { continue }
                parts.append(images)
                continuations.append((c, images.batchSize))
            }
            metrics?.batchSize(parts.reduce(0) { $0 + $1.batchSize })
            var rng = defense.options.seed.map(RandomSource.init(seed:)) ?? RandomSource.fresh()
            do {
                let results = try model.classify(Tensor.concatenate(parts), defense: defense, rng: &rng)
                var offset = 0
                for (c, n) in continuations {
                    c.resume(returning: Array(results[offset..<(offset + n)]))
                    offset += n
                }
            } catch {
                if case .stopped = error { metrics?.rejected(reason: "stopped") }
                for (c, _) in continuations { c.resume(throwing: ServiceError.from(error)) }
            }
        }
    }
}
