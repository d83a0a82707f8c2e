import Testing
import Engine
@testable import NeuralNet
import TestSupport

@Suite("Layer gradients match finite differences", .computeBound)
struct LayerGradientTests {
    var rng = RandomSource(seed: 42)

    @Test mutating func conv2d3x3_backward_matchesFiniteDifference() {
        let layer = Conv2D(inChannels: 3, outChannels: 4, kernel: 3, name: "c", rng: &rng)
        GradientCheck.check(layer, inputShape: [2, 5, 6, 3])
    }

    @Test mutating func conv2d5x5_backward_matchesFiniteDifference() {
        let layer = Conv2D(inChannels: 2, outChannels: 3, kernel: 5, name: "c", rng: &rng)
        GradientCheck.check(layer, inputShape: [2, 7, 6, 2])
    }

    @Test mutating func conv2d_manyBlocksAndWorkers_matchesSingleBlock() {
        // The blocked, parallel path must equal one big block exactly (same sums, same order per row).
        // 9·16·16 rows × 27 × 32 outputs × 2 = 4 MFLOP: enough work for two chunks
        // (`Parallel.minFLOPsPerChunk`), so the split path really runs.
        let layer = Conv2D(inChannels: 3, outChannels: 32, kernel: 3, name: "c", rng: &rng)
        let x = GradientCheck.randomTensor([9, 16, 16, 3], seed: 1)
        var ctx = ForwardContext(training: false, rng: RandomSource(seed: 1), recordsCache: true)
        let (reference, cache) = ComputeSettings.$current.withValue(ComputeSettings(parallelism: 1, convBlockRows: 1 << 20)) {
            layer.forward(x, context: &ctx)
        }
        let g1 = GradientStore()
        let dx1 = ComputeSettings.$current.withValue(ComputeSettings(parallelism: 1, convBlockRows: 1 << 20)) {
            layer.backward(reference, cache: cache, gradients: g1)
        }
        let blockedSettings = ComputeSettings(parallelism: 3, convBlockRows: 37)
        let (blocked, _) = ComputeSettings.$current.withValue(blockedSettings) { layer.forward(x, context: &ctx) }
        let g2 = GradientStore()
        let dx2 = ComputeSettings.$current.withValue(blockedSettings) {
            layer.backward(reference, cache: cache, gradients: g2)
        }
        #expect(blocked.maxAbsDifference(reference) < 1e-5)
        #expect(dx1.maxAbsDifference(dx2) < 1e-4)
        #expect(g1.gradient(for: layer.weight)!.maxAbsDifference(g2.gradient(for: layer.weight)!) < 1e-3)
    }

    @Test mutating func convTranspose2d_backward_matchesFiniteDifference() {
        let layer = ConvTranspose2D(inChannels: 3, outChannels: 2, kernel: 3, name: "t", rng: &rng)
        GradientCheck.check(layer, inputShape: [2, 5, 4, 3])
    }

    @Test mutating func convTranspose2d_isAdjointOfConv2d() {
        // <conv(x), y> == <x, convT(y)> when convT uses the same weight matrix.
        let conv = Conv2D(inChannels: 2, outChannels: 3, kernel: 3, name: "c", rng: &rng)
        let x = GradientCheck.randomTensor([1, 4, 5, 2], seed: 2)
        let y = GradientCheck.randomTensor([1, 4, 5, 3], seed: 3)
        let cx = ConvKernels.forward(x, weight: conv.weightMatrix, bias: nil, kernel: 3, outChannels: 3)
        let ty = ConvKernels.backwardData(y, weight: conv.weightMatrix, kernel: 3, inChannels: 2)
        let lhs = zip(cx.storage, y.storage).reduce(0.0) { $0 + Double($1.0 * $1.1) }
        let rhs = zip(x.storage, ty.storage).reduce(0.0) { $0 + Double($1.0 * $1.1) }
        #expect(abs(lhs - rhs) < 1e-4)
    }

    @Test mutating func dense_backward_matchesFiniteDifference() {
        GradientCheck.check(Dense(inFeatures: 7, outFeatures: 5, name: "d", rng: &rng), inputShape: [3, 7])
    }

    @Test mutating func denseWideOutput_parallelWeightGradient_matchesFiniteDifference() {
        GradientCheck.check(Dense(inFeatures: 6, outFeatures: 130, name: "d", rng: &rng), inputShape: [20, 6])
    }

    @Test func relu_backward_matchesFiniteDifference() {
        GradientCheck.check(ReLU(), inputShape: [2, 3, 3, 2], inputAwayFromZero: 0.05)
    }

    @Test func sigmoid_backward_matchesFiniteDifference() {
        GradientCheck.check(Sigmoid(), inputShape: [2, 10])
    }

    @Test func maxPool_backward_matchesFiniteDifference() {
        GradientCheck.check(MaxPool2(), inputShape: [2, 4, 6, 3], step: 1e-3)
    }

    @Test func maxPool_oddSize_dropsLastRowAndColumn() throws {
        #expect(try MaxPool2().outputShape(for: [7, 7, 8]) == [3, 3, 8])
        GradientCheck.check(MaxPool2(), inputShape: [1, 5, 5, 2], step: 1e-3)
    }

    @Test func upsample_backward_matchesFiniteDifference() {
        GradientCheck.check(UpSample2(), inputShape: [2, 3, 2, 2])
    }

    @Test func batchNormTraining_backward_matchesFiniteDifference() {
        GradientCheck.check(BatchNorm(channels: 3, name: "bn"), inputShape: [4, 3, 3, 3], training: true, step: 1e-2, tolerance: 3e-2)
    }

    @Test func batchNormInference_backward_matchesFiniteDifference() {
        let bn = BatchNorm(channels: 4, name: "bn")
        bn.runningMean.value = Tensor(shape: [4], storage: [0.1, -0.2, 0.3, 0])
        bn.runningVariance.value = Tensor(shape: [4], storage: [0.5, 2, 1, 0.25])
        GradientCheck.check(bn, inputShape: [3, 4], training: false)
    }

    @Test func batchNorm_updatesRunningStatisticsOnlyInTraining() {
        let bn = BatchNorm(channels: 1, momentum: 0.5, name: "bn")
        let x = Tensor(shape: [4, 1], storage: [1, 2, 3, 4])
        var inference = ForwardContext(training: false, rng: RandomSource(seed: 1))
        _ = bn.forward(x, context: &inference)
        #expect(bn.runningMean.value.storage == [0])
        var training = ForwardContext(training: true, rng: RandomSource(seed: 1))
        _ = bn.forward(x, context: &training)
        #expect(abs(bn.runningMean.value.storage[0] - 1.25) < 1e-6)   // 0.5·0 + 0.5·2.5
    }

    @Test func dropout_backward_matchesFiniteDifference_andIsIdentityAtInference() {
        GradientCheck.check(Dropout(rate: 0.4), inputShape: [3, 8], training: true)
        var ctx = ForwardContext(training: false, rng: RandomSource(seed: 1))
        let x = GradientCheck.randomTensor([2, 5], seed: 4)
        #expect(Dropout(rate: 0.4).forward(x, context: &ctx).output == x)
    }

    @Test func softmax_backward_matchesFiniteDifference() {
        GradientCheck.check(Softmax(), inputShape: [3, 6])
    }

    @Test func flattenAndReshape_roundTripGradients() {
        GradientCheck.check(Flatten(), inputShape: [2, 3, 2, 2])
        GradientCheck.check(Reshape([3, 2, 2]), inputShape: [2, 12])
    }
}
