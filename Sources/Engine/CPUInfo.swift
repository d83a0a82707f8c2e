import CSupport

/// What this processor can do, read with cpuid/xgetbv (not from /proc, which containers may hide).
public struct CPUInfo: Sendable, CustomStringConvertible {
    public let vendor: String
    public let brand: String
    public let family: Int
    public let model: Int
    public let hasAVX2: Bool
    public let hasFMA: Bool
    /// AVX-512 F/CD/BW/DQ/VL usable, i.e. present *and* enabled by the OS: what OpenBLAS's
    /// SkylakeX kernels need.
    public let hasAVX512: Bool
    public let hasAVX512BF16: Bool
    public let coreCount: Int

    public static let current = CPUInfo()

    private init() {
        var info = vg_cpu_info()
        _ = vg_cpu_detect(&info)
        vendor = withUnsafeBytes(of: info.vendor) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        brand = withUnsafeBytes(of: info.brand) {
            String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        }
        family = Int(info.family)
        model = Int(info.model)
        hasFMA = info.fma != 0
        hasAVX2 = info.avx2 != 0 && info.os_avx != 0
        hasAVX512 = info.avx512f != 0 && info.avx512cd != 0 && info.avx512bw != 0
            && info.avx512dq != 0 && info.avx512vl != 0 && info.os_avx512 != 0
        hasAVX512BF16 = hasAVX512 && info.avx512_bf16 != 0
        coreCount = ProcessInfo.processInfo.activeProcessorCount
    }

    /// Feature names for `vaeguard info`.
    public var features: [String] {
        var f: [String] = []
        if hasFMA { f.append("fma") }
        if hasAVX2 { f.append("avx2") }
        if hasAVX512 { f.append("avx512(f,cd,bw,dq,vl)") }
        if hasAVX512BF16 { f.append("avx512_bf16") }
        return f
    }

    public var description: String {
        "\(brand.isEmpty ? vendor : brand) (family \(family), model \(model), \(coreCount) cores; \(features.joined(separator: " ")))"
    }
}

import Foundation
