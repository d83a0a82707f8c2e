import CBLAS
import Foundation

/// Chooses, verifies and reports the OpenBLAS kernel ("core type") for this process.
///
/// OpenBLAS reads `OPENBLAS_CORETYPE` once, when the library is loaded, and 0.3.21 misdetects
/// some AVX-512 Xeons as "Prescott" (≈6x slower sgemm). Because the library is linked, it is
/// already loaded when `main` runs, so we cannot just `setenv`. We *re-exec* instead: the
/// process checks what the library picked, and when that is wrong for the CPU it sets the
/// variable and `execv`s itself once (marked by `VAEGUARD_BLAS_SELECTED`, so it cannot loop).
/// Re-exec was preferred over `dlopen` because it keeps ordinary linking, the system-library
/// target and the C headers, and costs a few milliseconds once per start.
///
/// Rules, in order:
/// 1. `OPENBLAS_CORETYPE` already set by someone else: respected as is (some machines set it
///    because certain kernels compute wrong results there).
/// 2. Otherwise the library's own choice is kept unless it is slower than what the CPU
///    safely supports (AVX-512 usable → SkylakeX; AVX2+FMA → Haswell or Zen).
/// 3. A kernel we chose is checked against a naive product at start-up; on mismatch the
///    process re-execs with the library's own choice and says so.
public enum BLASRuntime {
    static let markerVariable = "VAEGUARD_BLAS_SELECTED"
    static let coreTypeVariable = "OPENBLAS_CORETYPE"

    /// Where the kernel in use came from.
    public enum Source: Sendable, Equatable {
        case library                        // OpenBLAS's own detection
        case environment(String)            // OPENBLAS_CORETYPE set outside VAEGuard
        case selected(String)               // chosen by VAEGuard; the reason
        case fallback(String)               // VAEGuard's choice failed verification; the reason
    }

    /// The kernel OpenBLAS is running, as it reports it.
    public static var coreName: String { String(cString: openblas_get_corename()) }
    /// OpenBLAS build configuration string.
    public static var configString: String { String(cString: openblas_get_config()) }
    public static var threadCount: Int { Int(openblas_get_num_threads()) }

    /// Sets OpenBLAS's thread count (used inside one GEMM). Callers that already run one
    /// GEMM per core (the server's parallel purifier) want 1.
    public static func setThreadCount(_ n: Int) {
        openblas_set_num_threads(Int32(max(1, n)))
    }

    /// Where the kernel came from, after `prepareProcess` (or `.library` if never called).
    public static var source: Source {
        let env = ProcessInfo.processInfo.environment
        if let marker = env[markerVariable] {
            let parts = marker.split(separator: "|", maxSplits: 1).map(String.init)
            let reason = parts.count > 1 ? parts[1] : ""
            return parts.first == "fallback" ? .fallback(reason) : .selected(reason)
        }
        if let set = env[coreTypeVariable], !set.isEmpty { return .environment(set) }
        return .library
    }

    /// A one-line human description for logs and `vaeguard info`.
    public static var summary: String {
        switch source {
        case .library: return "\(coreName) (OpenBLAS's own detection, kept: it fits this CPU)"
        case .environment(let v): return "\(coreName) (OPENBLAS_CORETYPE=\(v) set in the environment, respected)"
        case .selected(let why): return "\(coreName) (selected by VAEGuard: \(why))"
        case .fallback(let why): return "\(coreName) (OpenBLAS's own detection: \(why))"
        }
    }

    /// The kernel this CPU should run when the library picked `libraryCore`, or nil to keep it.
    /// Pure, so the policy can be tested for CPUs we do not have.
    public static func preferredCoreType(libraryCore: String, hasAVX512: Bool, hasAVX2: Bool, hasFMA: Bool,
                                         vendor: String) -> (core: String, reason: String)? {
        let lib = libraryCore.lowercased()
        let avx512Cores: Set<String> = ["skylakex", "cooperlake", "sapphirerapids"]
        let avx2Cores: Set<String> = avx512Cores.union(["haswell", "zen", "excavator", "zen3", "zen4"])
        if hasAVX512 && !avx512Cores.contains(lib) {
            return ("SkylakeX", "CPU has usable AVX-512 but OpenBLAS detected \(libraryCore)")
        }
        if hasAVX2 && hasFMA && !avx2Cores.contains(lib) {
            let core = vendor == "AuthenticAMD" ? "Zen" : "Haswell"
            return (core, "CPU has AVX2+FMA but OpenBLAS detected \(libraryCore)")
        }
        return nil
    }

    /// Call first thing in `main`, before any BLAS work. May replace the process (`execv`);
    /// returns normally otherwise. `log` receives one line saying what happened.
    public static func prepareProcess(log: (String) -> Void = { _ in }) {
        let env = ProcessInfo.processInfo.environment
        if let marker = env[markerVariable] {
            // We re-exec'd with our own choice: verify it once; fall back if it is wrong.
            if !marker.hasPrefix("fallback"), !verify() {
                unsetenv(coreTypeVariable)
                setenv(markerVariable, "fallback|kernel \(coreName) failed the start-up check; using OpenBLAS's own choice", 1)
                reexec()
                log("BLAS: re-exec failed; continuing with \(coreName)")
            }
            log("BLAS kernel: \(summary)")
            return
        }
        if let set = env[coreTypeVariable], !set.isEmpty {
            log("BLAS kernel: \(summary)")
            return
        }
        let cpu = CPUInfo.current
        guard let choice = preferredCoreType(libraryCore: coreName, hasAVX512: cpu.hasAVX512, hasAVX2: cpu.hasAVX2,
                                             hasFMA: cpu.hasFMA, vendor: cpu.vendor) else {
            log("BLAS kernel: \(summary)")
            return
        }
        setenv(coreTypeVariable, choice.core, 1)
        setenv(markerVariable, "selected|\(choice.reason)", 1)
        reexec()
        // Only reached when execv failed: undo and go on with the library's choice.
        unsetenv(coreTypeVariable)
        unsetenv(markerVariable)
        log("BLAS kernel: \(summary) (re-exec to use \(choice.core) failed)")
    }

    /// Checks sgemm against a double-precision triple loop on awkward sizes (edges of the
    /// kernel's blocking), both transposes. True when every element agrees to 1e-4 relative.
    public static func verify() -> Bool {
        var rng = RandomSource(seed: 12345)
        for (m, n, k) in [(67, 45, 129), (5, 300, 17), (128, 96, 64)] {
            for (ta, tb) in [(false, false), (true, false), (false, true)] {
                let a = (0..<(m * k)).map { _ in rng.nextUniform() * 2 - 1 }
                let b = (0..<(k * n)).map { _ in rng.nextUniform() * 2 - 1 }
                let lda = ta ? m : k, ldb = tb ? k : n
                var c = [Float](repeating: 0, count: m * n)
                a.withUnsafeBufferPointer { pa in
                    b.withUnsafeBufferPointer { pb in
                        c.withUnsafeMutableBufferPointer { pc in
                            GEMM.sgemm(transA: ta, transB: tb, m: m, n: n, k: k, a: pa.baseAddress!, lda: lda,
                                       b: pb.baseAddress!, ldb: ldb, c: pc.baseAddress!, ldc: n)
                        }
                    }
                }
                let ref = GEMM.naive(transA: ta, transB: tb, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb)
                for i in 0..<(m * n) where abs(c[i] - ref[i]) > 1e-4 * max(1, abs(ref[i])) { return false }
            }
        }
        return true
    }

    private static func reexec() {
        fflush(nil)   // flush every stdio stream before the image is replaced
        execv("/proc/self/exe", CommandLine.unsafeArgv)
    }
}
