import CBLAS

/// Row-major single-precision matrix product, the one place the engine calls BLAS.
///
/// Nearly all compute time is here (dense layers, and convolutions lowered with im2col), so
/// the interface is kept small enough to put another backend (BLIS, a hand kernel) behind it.
public enum GEMM {
    /// `C = alpha · op(A) · op(B) + beta · C` with row-major storage.
    ///
    /// - Parameters:
    ///   - transA, transB: whether `A` / `B` are used transposed.
    ///   - m, n, k: `op(A)` is m×k, `op(B)` is k×n, `C` is m×n.
    ///   - lda, ldb, ldc: row strides of `A`, `B`, `C` as stored.
    @inlinable
    public static func sgemm(
        transA: Bool = false, transB: Bool = false,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        if k == 0 {
            // BLAS leaves C untouched when k == 0 only if beta == 1; make the contract explicit.
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] *= beta } }
            return
        }
        cblas_sgemm(CblasRowMajor,
                    transA ? CblasTrans : CblasNoTrans,
                    transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k),
                    alpha, a, Int32(lda), b, Int32(ldb),
                    beta, c, Int32(ldc))
    }

    /// `y[n] = x[k] · op(B)` for one row `x`, with `B` row-major `k×n` (`ldb` ≥ n) or, with
    /// `transB`, `n×k` (`ldb` ≥ k). A matrix-vector product for batch-1 layers: sgemm packs
    /// the whole of `B` into its blocked layout on every call, which for one row costs more
    /// than the product (a profile of MNIST's 3136×1024 layer at batch 1 showed 74 % of the
    /// time in OpenBLAS's `sgemm_itcopy`); sgemv streams `B` once.
    @inlinable
    public static func rowTimesMatrix(
        transB: Bool = false, n: Int, k: Int,
        x: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
        y: UnsafeMutablePointer<Float>
    ) {
        guard n > 0 else { return }
        guard k > 0 else { y.update(repeating: 0, count: n); return }
        // Row-major: y = Bᵀx when B is k×n, y = Bx when B is n×k.
        cblas_sgemv(CblasRowMajor, transB ? CblasNoTrans : CblasTrans,
                    Int32(transB ? n : k), Int32(transB ? k : n),
                    1, b, Int32(ldb), x, 1, 0, y, 1)
    }

    /// Reference triple loop in double precision, for verification and tests.
    public static func naive(
        transA: Bool = false, transB: Bool = false,
        m: Int, n: Int, k: Int,
        a: [Float], lda: Int, b: [Float], ldb: Int
    ) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    let av = transA ? a[p * lda + i] : a[i * lda + p]
                    let bv = transB ? b[j * ldb + p] : b[p * ldb + j]
                    s += Double(av) * Double(bv)
                }
                c[i * n + j] = Float(s)
            }
        }
        return c
    }
}
