import Testing
import TestSupport
import Engine
@testable import NeuralNet

/// Batch-1 inputs take other splits over the cores than batches (output columns for dense
/// layers, inline or row halves for convolutions, by work): one image must come out the same
/// either way.
@Suite("Batch-1 splits equal the batched path", .computeBound)
struct BatchOneEquivalenceTests {

    /// Row `i` of a batch forward against the forward of that row alone.
    static func expectRowsMatch(_ layer: any Layer, batchShape: [Int], tolerance: Float) {
        let batch = GradientCheck.randomTensor(batchShape, seed: 3)
        var ctx = ForwardContext.inference(seed: 1)
        let together = layer.forward(batch, context: &ctx).output
        let size = batch.itemCount, outSize = together.itemCount
        for i in [0, batchShape[0] - 1] {
            let one = Tensor(shape: [1] + Array(batchShape.dropFirst()),
                             storage: Array(batch.storage[(i * size)..<((i + 1) * size)]))
            let alone = layer.forward(one, context: &ctx).output
            let expected = Tensor(shape: alone.shape, storage: Array(together.storage[(i * outSize)..<((i + 1) * outSize)]))
            #expect(alone.maxAbsDifference(expected) <= tolerance, "item \(i)")
        }
    }

    @Test func dense_mnistSized_batchOneMatchesBatch() {
        // 3136→1000: a column split with a ragged last group of 16 (1000 = 62·16 + 8).
        var rng = RandomSource(seed: 5)
        let layer = Dense(inFeatures: 3136, outFeatures: 1000, name: "d", rng: &rng)
        // float32 at batch 1 too: the float16 copy has its own tests (HalfPrecisionDenseTests).
        ComputeSettings.with(halfPrecisionWeights: false) {
            for workers in [1, 2, 3] {
                ComputeSettings.with(parallelism: workers) { Self.expectRowsMatch(layer, batchShape: [32, 3136], tolerance: 1e-5) }
            }
        }
    }

    @Test func dense_backward_batchOneMatchesOneCall() {
        // The input gradient at batch 1 goes through the transposed column split.
        var rng = RandomSource(seed: 6)
        let layer = Dense(inFeatures: 1000, outFeatures: 3000, name: "d", rng: &rng)
        let x = GradientCheck.randomTensor([1, 1000], seed: 4)
        let dy = GradientCheck.randomTensor([1, 3000], seed: 7)
        var ctx = ForwardContext(training: false, rng: RandomSource(seed: 1), recordsCache: true)
        let cache = layer.forward(x, context: &ctx).cache
        let reference = ComputeSettings.with(parallelism: 1) { layer.backward(dy, cache: cache, gradients: nil) }
        let split = ComputeSettings.with(parallelism: 3) { layer.backward(dy, cache: cache, gradients: nil) }
        #expect(split.maxAbsDifference(reference) <= 1e-5)
        let naive = GEMM.naive(transB: true, m: 1, n: 1000, k: 3000, a: dy.storage, lda: 3000,
                               b: layer.weight.value.storage, ldb: 3000)
        #expect(Tensor(shape: [1, 1000], storage: naive).maxAbsDifference(reference) <= 1e-4)
    }

    @Test func conv_mnistSized_batchOneMatchesBatch() {
        // 32→64, 5×5 at 14×14: 20 MFLOP per image, split in row halves at batch 1.
        var rng = RandomSource(seed: 8)
        let layer = Conv2D(inChannels: 32, outChannels: 64, kernel: 5, name: "c", rng: &rng)
        for workers in [1, 2] {
            ComputeSettings.with(parallelism: workers) { Self.expectRowsMatch(layer, batchShape: [3, 14, 14, 32], tolerance: 1e-5) }
        }
    }
}
