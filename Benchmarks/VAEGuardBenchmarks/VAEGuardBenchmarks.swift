import Benchmark
import Foundation
import VAEGuardBenchKit

/// ordo-one/benchmark suite. Every workload of `Catalogue.all` becomes one benchmark named
/// "<group>: <workload>", so a regex picks a subset, e.g.
///   scripts/bench.sh --filter 'layer: cifar.*'   (whole-name regex)
///
/// FLOP-counted workloads report two custom metrics next to wall clock:
///   MFLOPS          — analytic FLOPs / wall time of the iteration;
///   %sgemm1024      — that, as a percentage of raw sgemm 1024³ GFLOPS measured in the
///                     benchmark's own setup on `BenchSettings.referenceThreads` OpenBLAS threads
///                     (default: as many as the engine uses cores, 2 on a 2-core machine)
///                     (same process, same minute: the ratio survives the machine's other load).
let benchmarks: @Sendable () -> Void = {
    BenchSettings.applyFromEnvironment()
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput],
        warmupIterations: 1,
        maxDuration: .seconds(2),
        maxIterations: 200)

    let mflops = BenchmarkMetric.custom("MFLOPS", polarity: .prefersLarger, useScalingFactor: false)
    let ratio = BenchmarkMetric.custom("%sgemm1024", polarity: .prefersLarger, useScalingFactor: false)

    for work in Catalogue.all {
        let counted = work.flops > 0
        let heavy = work.flops > 50e9
        let config = Benchmark.Configuration(
            metrics: counted ? [.wallClock, .throughput, mflops, ratio] : [.wallClock, .throughput],
            warmupIterations: heavy ? 0 : 1,
            maxDuration: heavy ? .seconds(8) : .seconds(2),
            maxIterations: heavy ? 3 : 200)
        let flops = work.flops
        Benchmark("\(work.group.rawValue): \(work.name)", configuration: config) { (benchmark: Benchmark, state: (@Sendable () -> Void, Double)) in
            let (body, reference) = state
            let clock = ContinuousClock()
            let start = clock.now
            BenchSettings.bind(body)
            let d = clock.now - start
            if counted {
                let seconds = Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
                let gflops = flops / seconds / 1e9
                benchmark.measurement(mflops, Int(gflops * 1000))
                benchmark.measurement(ratio, Int((100 * gflops / reference).rounded()))
            }
        } setup: { () -> (@Sendable () -> Void, Double) in
            let body = BenchSettings.bind(work.make)
            let reference = counted ? referenceSGEMMGFLOPS(threads: BenchSettings.referenceThreads) : 0
            return (body, reference)
        }
    }
}
