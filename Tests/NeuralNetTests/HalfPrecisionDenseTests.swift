import Testing
import TestSupport
import Engine
@testable import NeuralNet

/// Batch-1 dense layers read a float16 copy of large weight matrices (`Dense.halfPrecisionWeights`):
/// outputs stay within the float16 rounding bound of the float32 ones, splits over the cores
/// change nothing, and a change of the weights rebuilds the copy.
@Suite("Float16 batch-1 dense weights", .computeBound)
struct HalfPrecisionDenseTests {
    /// One row through the layer with and without the copy, plus the bound Σ|x·w|·2⁻¹¹ for
    /// each output (float16 rounds each weight by ≤ 2⁻¹¹ relative).
    static func compare(_ layer: Dense, _ x: Tensor) -> (half: Tensor, float: Tensor, bound: [Float]) {
        var ctx = ForwardContext.inference(seed: 1)
        let half = ComputeSettings.with(halfPrecisionWeights: true) { layer.forward(x, context: &ctx).output }
        let float = ComputeSettings.with(halfPrecisionWeights: false) { layer.forward(x, context: &ctx).output }
        let (k, n) = (layer.inFeatures, layer.outFeatures)
        let w = layer.weight.value.storage
        var bound = [Float](repeating: 0, count: x.batchSize * n)
        for r in 0..<x.batchSize {
            for p in 0..<k {
                let xv = abs(x.storage[r * k + p])
                for j in 0..<n { bound[r * n + j] += xv * abs(w[p * n + j]) }
            }
        }
        return (half, float, bound.map { $0 * 0x1p-11 + 1e-5 })
    }

    @Test func mnistSizedLayer_withinFloat16Bound() throws {
        try #require(HalfPrecisionMatrix.isSupported, "this CPU has no F16C/AVX2/FMA: the layer keeps float32")
        var rng = RandomSource(seed: 21)
        let layer = Dense(inFeatures: 3136, outFeatures: 1000, name: "d", rng: &rng)
        for rows in [1, 2] {
            let x = GradientCheck.randomTensor([rows, 3136], seed: UInt64(rows))
            let (half, float, bound) = Self.compare(layer, x)
            #expect(half.maxAbsDifference(float) > 0, "the float16 path was taken")
            for i in 0..<half.storage.count {
                #expect(abs(half.storage[i] - float.storage[i]) <= bound[i], "output \(i)")
            }
            // The stated tolerance of docs/PERFORMANCE.md: 1e-3 absolute on Glorot weights and
            // inputs in [-1, 1] (the measured difference is a few 1e-5).
            #expect(half.maxAbsDifference(float) <= 1e-3)
        }
    }

    @Test func splitsOverCores_giveTheSameResult() throws {
        try #require(HalfPrecisionMatrix.isSupported)
        var rng = RandomSource(seed: 22)
        let layer = Dense(inFeatures: 1024, outFeatures: 4096, name: "d", rng: &rng)
        let x = GradientCheck.randomTensor([1, 1024], seed: 3)
        var ctx = ForwardContext.inference(seed: 1)
        let one = ComputeSettings.with(parallelism: 1) { layer.forward(x, context: &ctx).output }
        for workers in [2, 3] {
            let split = ComputeSettings.with(parallelism: workers) { layer.forward(x, context: &ctx).output }
            #expect(split.storage == one.storage)
        }
    }

    @Test func smallLayersAndBatches_stayFloat32() {
        var rng = RandomSource(seed: 23)
        let small = Dense(inFeatures: 256, outFeatures: 392, name: "s", rng: &rng)   // MNIST VAE decoder: 100k weights
        #expect(small.halfPrecisionWeights() == nil)
        let layer = Dense(inFeatures: 1024, outFeatures: 512, name: "d", rng: &rng)
        let x = GradientCheck.randomTensor([3, 1024], seed: 4)
        var ctx = ForwardContext.inference(seed: 1)
        let on = ComputeSettings.with(halfPrecisionWeights: true) { layer.forward(x, context: &ctx).output }
        let off = ComputeSettings.with(halfPrecisionWeights: false) { layer.forward(x, context: &ctx).output }
        #expect(on.storage == off.storage, "three rows run sgemm on float32 weights")
    }

    /// Optimisers write weights in place: the generation changes, the storage is not copied
    /// (a simple `didSet` keeps the write in place), and the float16 copy follows the new weights.
    @Test func weightUpdate_rebuildsTheCopy() throws {
        try #require(HalfPrecisionMatrix.isSupported)
        var rng = RandomSource(seed: 24)
        let layer = Dense(inFeatures: 1024, outFeatures: 512, name: "d", rng: &rng)
        let x = GradientCheck.randomTensor([1, 1024], seed: 5)
        var ctx = ForwardContext.inference(seed: 1)
        let before = ComputeSettings.with(halfPrecisionWeights: true) { layer.forward(x, context: &ctx).output }
        let generation = layer.weight.generation
        let address = layer.weight.value.storage.withUnsafeBufferPointer { $0.baseAddress }
        layer.weight.value.storage.withUnsafeMutableBufferPointer { w in
            for i in w.indices { w[i] = -w[i] }
        }
        #expect(layer.weight.generation != generation)
        #expect(layer.weight.value.storage.withUnsafeBufferPointer { $0.baseAddress } == address, "written in place")
        let after = ComputeSettings.with(halfPrecisionWeights: true) { layer.forward(x, context: &ctx).output }
        #expect(after.storage == before.storage.map { -$0 }, "negated weights, negated outputs (no bias)")
    }
}
