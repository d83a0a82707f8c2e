import CSupport

/// A float16 copy of a row-major `k×n` float32 matrix, packed in panels of 16 columns, for
/// matrix-vector products bound by reading the weights (batch-1 dense layers): half the bytes
/// of float32, converted back with F16C as the kernel streams them, summed in float32.
///
/// Rounding each weight to float16 changes it by at most 2⁻¹¹ relative (float16 has an
/// 11-bit significand), so outputs change by about that much relative to Σ|x·w|; the
/// accuracy checks in docs/PERFORMANCE.md ("Issue 21, session 6") found no label changes.
/// Only built where the CPU has F16C, AVX2 and FMA (`isSupported`): elsewhere callers keep
/// float32 sgemv, and the portable C path in `vg_half_gemv_panels` is for tests only.
public final class HalfPrecisionMatrix: Sendable {
    public let rows: Int
    public let columns: Int
    private let panels: [UInt16]

    /// Columns per panel: column splits of the product must be multiples of it.
    public static let panelWidth = Int(VG_HALF_PANEL)

    /// Whether this CPU runs the vector kernel (F16C, AVX2, FMA, and the OS saves YMM state).
    public static var isSupported: Bool { vg_half_kernel_available() != 0 }

    /// Packs `matrix` (`rows×columns`, row-major, contiguous). Nil when a value is outside
    /// float16's range (|v| > 65504): the copy would not be close to the original.
    public init?(_ matrix: UnsafePointer<Float>, rows: Int, columns: Int) {
        precondition(rows > 0 && columns > 0)
        var outOfRange = 0
        let size = vg_half_panels_size(rows, columns)
        let packed = [UInt16](unsafeUninitializedCapacity: size) { buffer, initialized in
            outOfRange = vg_half_pack_panels(matrix, rows, columns, columns, buffer.baseAddress!)
            initialized = size
        }
        guard outOfRange == 0 else { return nil }
        self.rows = rows
        self.columns = columns
        panels = packed
    }

    /// `y[r·ldy + j] = Σ_p x[r·ldx + p] · M[p, j]` for `r < count` and the columns of panels
    /// `panelRange` (panel `q` holds columns `16q ..< 16q + 16`, cut at `columns`).
    public func rowsTimesMatrix(count: Int, x: UnsafePointer<Float>, ldx: Int, panelRange: Range<Int>,
                                y: UnsafeMutablePointer<Float>, ldy: Int) {
        guard count > 0, !panelRange.isEmpty else { return }
        panels.withUnsafeBufferPointer { p in
            vg_half_gemv_panels(p.baseAddress!, rows, columns, panelRange.lowerBound, panelRange.upperBound,
                                x, ldx, count, y, ldy)
        }
    }

    /// The number of panels (`⌈columns / 16⌉`).
    public var panelCount: Int { (columns + Self.panelWidth - 1) / Self.panelWidth }

    /// The float16 bit pattern nearest to `value` (ties to even), and back: the conversions the
    /// packed copy uses, exposed for tests.
    public static func halfBits(_ value: Float) -> UInt16 { vg_float_to_half(value) }
    public static func float(halfBits: UInt16) -> Float { vg_half_to_float(halfBits) }

    /// `halfBits` → `Float` for a whole array with the vector instructions where supported.
    public static func floats(halfBits: [UInt16]) -> [Float] {
        guard !halfBits.isEmpty else { return [] }
        return [Float](unsafeUninitializedCapacity: halfBits.count) { out, initialized in
            halfBits.withUnsafeBufferPointer { vg_half_to_float_array($0.baseAddress!, out.baseAddress!, halfBits.count) }
            initialized = halfBits.count
        }
    }
}
