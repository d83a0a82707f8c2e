import Engine
import Foundation
import VAEGuardBenchKit

// Prints the performance tables of docs/PERFORMANCE.md as markdown, measuring each workload and
// the raw sgemm 1024³ reference back to back (best of N for both), so the ratio column compares
// numbers taken within the same second even when other jobs load the machine.
//
//   VAEGuardPerfReport [--filter REGEX] [--repeats N] [--seconds S] [--profile N]
//   VAEGuardPerfReport --latency S
//
// --latency S prints the async-hop latency table of docs/PERFORMANCE.md ("concurrentPerform or
// queues"): S seconds per row, idle and under a batch-32 MNIST classify on as many plain threads
// as engine chunks, under each `DispatchStrategy`, alternating, twice.
// --profile N runs the matching workloads N times each with no reference and no table: the
// mode to run under `valgrind --tool=callgrind`.
// Thread settings come from VAEGUARD_BENCH_ENGINE_THREADS / _BLAS_THREADS / _BLOCK_ROWS.

var filter: String?
var repeats = 5
var seconds = 1.5
var profile: Int?
var latency: Double?
var args = CommandLine.arguments.dropFirst()
while let a = args.popFirst() {
    switch a {
    case "--filter": filter = args.popFirst()
    case "--repeats": repeats = Int(args.popFirst() ?? "") ?? repeats
    case "--seconds": seconds = Double(args.popFirst() ?? "") ?? seconds
    case "--profile": profile = Int(args.popFirst() ?? "") ?? 1
    case "--latency": latency = Double(args.popFirst() ?? "") ?? 5
    default: FileHandle.standardError.write(Data("unknown argument \(a)\n".utf8)); exit(2)
    }
}
BenchSettings.applyFromEnvironment()

if let latency {
    let threads = BenchSettings.settings.parallelism
    let work = DispatchCases.servedBatch
    print("Settings: \(BenchSettings.summary); \(latency) s per row")
    print("")
    print("| engine on \(threads) plain threads | dispatch | hops | hop mean ms | p50 | p99 | max | sleep(2 ms) late: mean ms | p99 | max | engine batches/s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    func row(_ label: String, _ dispatch: DispatchStrategy, _ work: Workload?) {
        let r = DispatchLatencyProbe.measure(work: work, dispatch: dispatch, engineThreads: threads, seconds: latency)
        let f = { (x: Double) in String(format: "%.3f", x) }
        let engine = work == nil ? "–" : String(format: "%.1f", r.engineIterationsPerSecond)
        print("| \(label) | \(work == nil ? "–" : "`\(dispatch.rawValue)`") | \(r.samplesMS.count) | \(f(r.mean)) | \(f(r.percentile(0.5))) | \(f(r.percentile(0.99))) | \(f(r.samplesMS.last ?? 0)) | \(f(r.sleepLateMean)) | \(f(r.percentile(0.99, of: r.sleepLateMS))) | \(f(r.sleepLateMS.last ?? 0)) | \(engine) |")
        fflush(nil)
    }
    row("idle", .queues, nil)
    for _ in 0..<2 {
        for dispatch in DispatchStrategy.allCases { row(work.name, dispatch, work) }
    }
    row("idle", .queues, nil)
    exit(0)
}
let regex = try filter.map { try Regex($0) }
let selected = Catalogue.all.filter { w in
    guard let regex else { return true }
    return "\(w.group.rawValue): \(w.name)".contains(regex)
}

if let n = profile {
    for w in selected {
        let body = BenchSettings.bound(w)
        for _ in 0..<n { body() }
        print("ran \(w.name) ×\(n)")
    }
    exit(0)
}

func fmt(_ x: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", x) }

print("Settings: \(BenchSettings.summary); best of ≥\(repeats) runs (≥\(seconds) s) per row")
let refThreads = BenchSettings.referenceThreads
// The ratio's denominator: the best raw sgemm 1024³ seen so far in this run (measured at the
// start and again after every row). A best-of-N reference next to best-of-N workload times: on
// a machine shared with other jobs, the least disturbed runs of each are what compare.
var refBest = selected.contains { $0.flops > 0 } ? referenceSGEMMGFLOPS(threads: refThreads, repeats: 15) : 0
if refBest > 0 { print("Raw sgemm 1024³ on \(refThreads) OpenBLAS thread(s) at start: \(fmt(refBest)) GFLOPS") }
var currentGroup: Workload.Group?
for w in selected {
    if w.group != currentGroup {
        currentGroup = w.group
        print("")
        switch w.group {
        case .sgemm, .layer, .model:
            print("| \(w.group.rawValue) | best ms | median ms | GFLOPS | sgemm1024 GFLOPS now / run-best (\(refThreads)T) | ratio to run-best | items/s |")
            print("|---|---:|---:|---:|---:|---:|---:|")
        case .purification:
            print("| purification | best ms | median ms | GFLOPS | sgemm1024 GFLOPS now / run-best (\(refThreads)T) | ratio to run-best | images/s | MP/s |")
            print("|---|---:|---:|---:|---:|---:|---:|---:|")
        case .codec, .http:
            print("| \(w.group.rawValue) | best ms | median ms | per second | MP/s |")
            print("|---|---:|---:|---:|---:|")
        }
    }
    let body = BenchSettings.bound(w)
    body()   // warm-up (first-touch, lazily built state)
    var times: [Double] = []
    let clock = ContinuousClock()
    let t0 = clock.now
    while times.count < repeats || (clock.now - t0) < .seconds(seconds) && times.count < 10_000 {
        times.append(bestTime(repeats: 1, body))
        if times.count >= repeats && w.flops > 100e9 { break }   // the 1024² purification: a few runs suffice
    }
    times.sort()
    let best = times[0], median = times[times.count / 2]
    let perSecond = Double(w.items) / best
    switch w.group {
    case .sgemm, .layer, .model, .purification:
        let gflops = w.flops / best / 1e9
        let ref = referenceSGEMMGFLOPS(threads: refThreads, repeats: 5)
        refBest = max(refBest, ref)
        var row = "| \(w.name) | \(fmt(best * 1e3, 3)) | \(fmt(median * 1e3, 3)) | \(fmt(gflops)) | \(fmt(ref)) / \(fmt(refBest)) | \(fmt(100 * gflops / refBest, 0))% | \(fmt(perSecond, perSecond < 10 ? 2 : 0)) |"
        if w.group == .purification { row += " \(fmt(perSecond * Double(w.pixelsPerItem) / 1e6, 2)) |" }
        print(row)
    case .codec, .http:
        let mp = w.pixelsPerItem > 0 ? fmt(perSecond * Double(w.pixelsPerItem) / 1e6, 1) : "–"
        print("| \(w.name) | \(fmt(best * 1e3, 3)) | \(fmt(median * 1e3, 3)) | \(fmt(perSecond, 0)) | \(mp) |")
    }
    fflush(nil)
}
