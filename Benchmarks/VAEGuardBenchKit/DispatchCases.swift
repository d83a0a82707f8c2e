import Engine
import Foundation
import Models
import Synchronization

/// `ComputeSettings.dispatch` side by side: the same workloads under each strategy (adjacent
/// rows, so they compare within one run), and the latency of a trivial async hop while the
/// engine computes under each (`DispatchLatencyProbe`).
public enum DispatchCases {
    /// A conv and a dense layer of the MNIST classifier at batch 64, and a batch-32 MNIST
    /// classify with the VAE, each once per strategy; names end in `[<strategy>]`.
    public static var all: [Workload] {
        let works = [PaperLayers.mnistClassifier[1].forwardWorkload(batch: 64),
                     PaperLayers.mnistClassifier[2].forwardWorkload(batch: 64),
                     servedBatch]
        return works.flatMap { work in DispatchStrategy.allCases.map { under($0, work) } }
    }

    /// A full micro-batch as the service computes it: batch-32 MNIST classify with the VAE.
    public static var servedBatch: Workload {
        let mnist = ServingCases.defendedModel("mnist", classifier: PaperArchitectures.mnistClassifier(),
                                               vae: PaperArchitectures.mnistVAE())
        return ServingCases.classify(mnist, batch: 32)
    }

    /// `work` with `dispatch` bound around each iteration.
    public static func under(_ dispatch: DispatchStrategy, _ work: Workload) -> Workload {
        Workload(name: "\(work.name) [\(dispatch.rawValue)]", group: work.group, flops: work.flops,
                 items: work.items, pixelsPerItem: work.pixelsPerItem) {
            let body = work.make()
            return {
                var settings = ComputeSettings.current
                settings.dispatch = dispatch
                ComputeSettings.$current.withValue(settings, operation: body)
            }
        }
    }
}

/// How long a trivial async hop (`await Task { }.value` from a task) takes while plain threads
/// run engine work, as the service's `BatchScheduler` workers do. On Linux, Swift's cooperative
/// pool runs on Dispatch's default-QoS worker threads; engine chunks that occupy those threads
/// delay every async handler (`/healthz`, `/metrics`, request hand-offs) until they finish.
public enum DispatchLatencyProbe {
    public struct Result: Sendable {
        /// Round-trip times of the hop, in milliseconds, sorted.
        public let samplesMS: [Double]
        /// How late `Task.sleep` resumed the probe task past its interval, in milliseconds, sorted.
        public let sleepLateMS: [Double]
        /// Engine iterations completed per second while the probe ran (0 when idle).
        public let engineIterationsPerSecond: Double

        public var mean: Double { samplesMS.isEmpty ? 0 : samplesMS.reduce(0, +) / Double(samplesMS.count) }
        public var sleepLateMean: Double { sleepLateMS.isEmpty ? 0 : sleepLateMS.reduce(0, +) / Double(sleepLateMS.count) }
        public func percentile(_ p: Double, of sorted: [Double]? = nil) -> Double {
            let s = sorted ?? samplesMS
            return s.isEmpty ? 0 : s[min(s.count - 1, Int(Double(s.count) * p))]
        }
    }

    private final class Shared: Sendable {
        let stop = Atomic<Bool>(false)
        let iterations = Atomic<Int>(0)
        let running = Atomic<Int>(0)
        let samples = Mutex<[Double]>([])
        let sleepLate = Mutex<[Double]>([])
    }

    /// Runs `work` on `engineThreads` plain threads under `dispatch` (none when `work` is nil)
    /// and samples the hop every `intervalMS` for `seconds`.
    public static func measure(work: Workload?, dispatch: DispatchStrategy, engineThreads: Int,
                               seconds: Double, intervalMS: Int = 2) -> Result {
        let shared = Shared()
        if let work {
            let settings = { var s = BenchSettings.settings; s.dispatch = dispatch; return s }()
            let body = ComputeSettings.$current.withValue(settings) { work.make() }
            for _ in 0..<engineThreads {
                shared.running.add(1, ordering: .sequentiallyConsistent)
                Thread {
                    ComputeSettings.$current.withValue(settings) {
                        while !shared.stop.load(ordering: .relaxed) {
                            body()
                            shared.iterations.add(1, ordering: .relaxed)
                        }
                    }
                    shared.running.subtract(1, ordering: .sequentiallyConsistent)
                }.start()
            }
            Thread.sleep(forTimeInterval: 0.2)   // let the workers reach steady state
        }
        let startIterations = shared.iterations.load(ordering: .relaxed)
        let start = Date()
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            let clock = ContinuousClock()
            let end = clock.now + .milliseconds(Int(seconds * 1000))
            while clock.now < end {
                let t0 = clock.now
                await Task { }.value
                let t1 = clock.now
                shared.samples.withLock { $0.append(milliseconds(t1 - t0)) }
                try? await Task.sleep(for: .milliseconds(intervalMS))
                let late = milliseconds(clock.now - t1) - Double(intervalMS)
                shared.sleepLate.withLock { $0.append(late) }
            }
            done.signal()
        }
        done.wait()
        let elapsed = Date().timeIntervalSince(start)
        let iterations = shared.iterations.load(ordering: .relaxed) - startIterations
        shared.stop.store(true, ordering: .relaxed)
        while shared.running.load(ordering: .sequentiallyConsistent) > 0 { Thread.sleep(forTimeInterval: 0.01) }
        return Result(samplesMS: shared.samples.withLock { $0 }.sorted(),
                      sleepLateMS: shared.sleepLate.withLock { $0 }.sorted(),
                      engineIterationsPerSecond: Double(iterations) / elapsed)
    }

    private static func milliseconds(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) * 1e-15
    }
}
