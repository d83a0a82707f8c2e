import Foundation
import Engine

/// Times repeated square sgemm calls for about `seconds`, returning GFLOPS.
enum SGEMMMeasurement {
    static func run(size n: Int, seconds: Double, threads: Int) -> Double {
        let saved = BLASRuntime.threadCount
        BLASRuntime.setThreadCount(threads)
        defer { BLASRuntime.setThreadCount(saved) }
        var rng = RandomSource(seed: 1)
        let a = (0..<(n * n)).map { _ in rng.nextUniform() }
        let b = (0..<(n * n)).map { _ in rng.nextUniform() }
        var c = [Float](repeating: 0, count: n * n)
        var calls = 0
        var elapsed = 0.0
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    GEMM.sgemm(m: n, n: n, k: n, a: pa.baseAddress!, lda: n, b: pb.baseAddress!, ldb: n,
                               c: pc.baseAddress!, ldc: n)   // warm-up
                    let t0 = Date()
                    while Date().timeIntervalSince(t0) < seconds || calls == 0 {
                        GEMM.sgemm(m: n, n: n, k: n, a: pa.baseAddress!, lda: n, b: pb.baseAddress!, ldb: n,
                                   c: pc.baseAddress!, ldc: n)
                        calls += 1
                    }
                    elapsed = Date().timeIntervalSince(t0)
                }
            }
        }
        return 2 * Double(n) * Double(n) * Double(n) * Double(calls) / elapsed / 1e9
    }
}
