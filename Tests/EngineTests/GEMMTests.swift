import Testing
@testable import Engine

@Suite("GEMM and BLAS runtime")
struct GEMMTests {
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func sgemm_matchesNaiveProduct(transposes: (Bool, Bool)) {
        let (ta, tb) = transposes
        var rng = RandomSource(seed: 1)
        let (m, n, k) = (13, 17, 29)
        let a = (0..<(m * k)).map { _ in rng.nextUniform() - 0.5 }
        let b = (0..<(k * n)).map { _ in rng.nextUniform() - 0.5 }
        var c = [Float](repeating: 0, count: m * n)
        let lda = ta ? m : k, ldb = tb ? k : n
        GEMM.sgemm(transA: ta, transB: tb, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: &c, ldc: n)
        let ref = GEMM.naive(transA: ta, transB: tb, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb)
        for i in 0..<(m * n) { #expect(abs(c[i] - ref[i]) < 1e-4) }
    }

    @Test func verify_acceptsTheKernelInUse() {
        #expect(BLASRuntime.verify())
        #expect(!BLASRuntime.coreName.isEmpty)
    }

    @Test func kernelPolicy_fixesMisdetectedAVX512() {
        let choice = BLASRuntime.preferredCoreType(libraryCore: "Prescott", hasAVX512: true, hasAVX2: true, hasFMA: true,
                                                   vendor: "GenuineIntel")
        #expect(choice?.core == "SkylakeX")
    }

    @Test func kernelPolicy_keepsCorrectDetections() {
        #expect(BLASRuntime.preferredCoreType(libraryCore: "Zen", hasAVX512: false, hasAVX2: true, hasFMA: true,
                                              vendor: "AuthenticAMD") == nil)
        #expect(BLASRuntime.preferredCoreType(libraryCore: "SkylakeX", hasAVX512: true, hasAVX2: true, hasFMA: true,
                                              vendor: "GenuineIntel") == nil)
        #expect(BLASRuntime.preferredCoreType(libraryCore: "Cooperlake", hasAVX512: true, hasAVX2: true, hasFMA: true,
                                              vendor: "GenuineIntel") == nil)
    }

    @Test func kernelPolicy_neverChoosesAVX512WithoutIt() {
        // The AMD Zen 3 case: forcing SkylakeX there crashes with an illegal instruction.
        let choice = BLASRuntime.preferredCoreType(libraryCore: "Prescott", hasAVX512: false, hasAVX2: true, hasFMA: true,
                                                   vendor: "AuthenticAMD")
        #expect(choice?.core == "Zen")
        #expect(BLASRuntime.preferredCoreType(libraryCore: "Prescott", hasAVX512: false, hasAVX2: false, hasFMA: false,
                                              vendor: "GenuineIntel") == nil)
    }
}

extension GEMM {
    /// Array convenience for tests.
    static func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, a: [Float], lda: Int, b: [Float], ldb: Int,
                      c: inout [Float], ldc: Int) {
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    sgemm(transA: transA, transB: transB, m: m, n: n, k: k, a: pa.baseAddress!, lda: lda,
                          b: pb.baseAddress!, ldb: ldb, c: pc.baseAddress!, ldc: ldc)
                }
            }
        }
    }
}
