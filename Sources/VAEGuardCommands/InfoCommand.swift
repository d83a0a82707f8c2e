import ArgumentParser
import Foundation
import Engine
import CPNG
import CJPEG
import CZlib
import COpenSSL
import Service

/// `vaeguard info`: the facts a bug report needs (CPU, BLAS kernel and why, threads,
/// library versions) and a two-second sgemm measurement.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Print version, CPU, BLAS kernel, library versions and an sgemm measurement.")

    @Option(help: "Seconds to spend measuring sgemm (0 to skip).")
    var seconds: Double = 2

    @Option(help: "Square matrix size for the sgemm measurement.")
    var size: Int = 1024

    func run() throws {
        let cpu = CPUInfo.current
        print("vaeguard \(VAEGuardVersion.string)")
        print("cpu:           \(cpu.brand.isEmpty ? cpu.vendor : cpu.brand)")
        print("cpu features:  \(cpu.features.joined(separator: " ")) (family \(cpu.family), model \(cpu.model))")
        print("cores:         \(cpu.coreCount)")
        print("blas kernel:   \(BLASRuntime.summary)")
        print("blas config:   \(BLASRuntime.configString.trimmingCharacters(in: .whitespaces))")
        print("blas threads:  \(BLASRuntime.threadCount) per GEMM; engine parallelism \(ComputeSettings.current.parallelism)")
        print("blas verified: \(BLASRuntime.verify() ? "yes (matches a naive product)" : "NO: results differ from a naive product")")
        print("libpng:        \(String(cString: png_get_libpng_ver(nil)))")
        print("libjpeg-turbo: \(Self.turbojpegVersion)")
        print("zlib:          \(String(cString: zlibVersion()))")
        print("openssl:       \(String(cString: OpenSSL_version(OPENSSL_VERSION)))")
        if seconds > 0 {
            let one = SGEMMMeasurement.run(size: size, seconds: seconds / 2, threads: 1)
            let all = SGEMMMeasurement.run(size: size, seconds: seconds / 2, threads: cpu.coreCount)
            print(String(format: "sgemm %d³:    %.1f GFLOPS on 1 thread, %.1f GFLOPS on %d threads",
                         size, one, all, cpu.coreCount))
        }
    }

    /// libjpeg-turbo exposes its version only at compile time (LIBJPEG_TURBO_VERSION is a
    /// bare token, not importable); the TurboJPEG ABI level is what we can state.
    static var turbojpegVersion: String {
        "TurboJPEG API \(TJ_NUMPF) pixel formats (libturbojpeg.so.0)"
    }
}
