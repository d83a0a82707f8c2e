import Foundation

extension RandomSource {
    /// `out[i] = base[i] + scale · zᵢ` with zᵢ independent standard normals, by the ziggurat
    /// method (Marsaglia & Tsang 2000, 128 layers), for bulk noise (randomized smoothing's
    /// noisy copies). About 99 % of draws take one 64-bit output, a table look-up, a compare
    /// and a multiply; Box–Muller (`nextNormal`) pays a log, a sine and a cosine per pair.
    /// The layer index comes from the low 7 bits and the value from the high 32 bits of the
    /// same output, so the two are independent (Doornik 2005's fix to the original).
    ///
    /// Exact in distribution like Box–Muller, but a different stream: a seed gives other
    /// (equally distributed) numbers than `nextNormal` would, and the same ones on every run.
    public mutating func fillNormal(_ out: UnsafeMutablePointer<Float>, count: Int, adding base: UnsafePointer<Float>,
                                    scale: Float) {
        let t = Ziggurat.tables
        t.k.withUnsafeBufferPointer { k in
            t.w.withUnsafeBufferPointer { w in
                t.f.withUnsafeBufferPointer { f in
                    for i in 0..<count {
                        let u = next()
                        let layer = Int(u & 127)
                        let hz = Int32(truncatingIfNeeded: u >> 32)
                        let z: Float
                        if hz.magnitude < k[layer] {
                            z = Float(hz) * w[layer]
                        } else {
                            z = zigguratSlowPath(hz: hz, layer: layer, k: k, w: w, f: f)
                        }
                        out[i] = base[i] + scale * z
                    }
                }
            }
        }
    }

    /// The base strip's tail and the wedges (≈ 1 % of draws): Marsaglia & Tsang's `nfix`.
    private mutating func zigguratSlowPath(hz: Int32, layer: Int, k: UnsafeBufferPointer<UInt32>,
                                          w: UnsafeBufferPointer<Float>, f: UnsafeBufferPointer<Float>) -> Float {
        var (hz, layer) = (hz, layer)
        while true {
            let x = Float(hz) * w[layer]
            if layer == 0 {
                // Beyond r: Marsaglia's tail method, exact for the normal tail.
                var tx: Float, ty: Float
                repeat {
                    tx = -logf(1 - nextUniform()) / Ziggurat.r
                    ty = -logf(1 - nextUniform())
                } while ty + ty < tx * tx
                return hz > 0 ? Ziggurat.r + tx : -(Ziggurat.r + tx)
            }
            if f[layer] + nextUniform() * (f[layer - 1] - f[layer]) < expf(-0.5 * x * x) { return x }
            let u = next()
            layer = Int(u & 127)
            hz = Int32(truncatingIfNeeded: u >> 32)
            if hz.magnitude < k[layer] { return Float(hz) * w[layer] }
        }
    }
}

/// The 128-layer ziggurat of the standard normal (Marsaglia & Tsang 2000), computed once.
enum Ziggurat {
    /// Where the base strip's tail begins.
    static let r: Float = 3.442_619_855_899

    struct Tables: Sendable {
        /// Acceptance bounds on |hz| (a 32-bit signed draw) per layer.
        var k: [UInt32]
        /// Scale from hz to x per layer.
        var w: [Float]
        /// exp(−x²/2) at each layer's edge.
        var f: [Float]
    }

    static let tables: Tables = {
        let m1 = 2_147_483_648.0
        let vn = 9.912_563_035_262_17e-3
        var dn = 3.442_619_855_899, tn = dn
        var k = [UInt32](repeating: 0, count: 128), w = [Float](repeating: 0, count: 128), f = [Float](repeating: 0, count: 128)
        let q = vn / exp(-0.5 * dn * dn)
        k[0] = UInt32(dn / q * m1)
        k[1] = 0
        w[0] = Float(q / m1)
        w[127] = Float(dn / m1)
        f[0] = 1
        f[127] = Float(exp(-0.5 * dn * dn))
        for i in stride(from: 126, through: 1, by: -1) {
            dn = (-2 * log(vn / dn + exp(-0.5 * dn * dn))).squareRoot()
            k[i + 1] = UInt32(dn / tn * m1)
            tn = dn
            f[i] = Float(exp(-0.5 * dn * dn))
            w[i] = Float(dn / m1)
        }
        return Tables(k: k, w: w, f: f)
    }()
}
