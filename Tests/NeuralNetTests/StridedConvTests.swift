import Testing
import Engine
@testable import NeuralNet
import TestSupport

/// The stride-2 convolution that `Residual` runs for a convolution followed by `Subsample2`
/// (docs/ROBUSTNESS.md, "Issue 19"): forward, weight, bias and input gradients against the
/// unfused pair (a "same" convolution over every pixel, then subsampling), on 1–3 cores and
/// with small blocks, and the fused block against finite differences.
@Suite("Strided convolution", .computeBound)
struct StridedConvTests {
    static let settings: [ComputeSettings] = {
        var blocked = ComputeSettings(parallelism: 3, convBlockRows: 16)
        blocked.convBlockBytes = 2 << 10
        return [ComputeSettings(parallelism: 1), ComputeSettings(parallelism: 2), blocked]
    }()

    static func conv(_ c: Int, _ f: Int, kernel: Int) -> Conv2D {
        var rng = RandomSource(seed: 9)
        let conv = Conv2D(inChannels: c, outChannels: f, kernel: kernel, name: "c", rng: &rng)
        conv.bias.value = GradientCheck.randomTensor([f], seed: 10)
        return conv
    }

    static func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
        zip(a.storage, b.storage).reduce(0) { max($0, abs($1.0 - $1.1) / max(1, abs($1.1))) }
    }

    /// (channels in, out, kernel, height, width): even and odd sizes, widening and narrowing.
    static let cases = [(3, 8, 3, 6, 6), (4, 6, 3, 5, 7), (6, 4, 3, 8, 4), (2, 5, 1, 7, 6), (3, 4, 5, 9, 8)]

    @Test(arguments: cases)
    func forwardAndBackward_matchConvThenSubsample(shape: (Int, Int, Int, Int, Int)) {
        let (c, f, k, h, w) = shape
        let conv = Self.conv(c, f, kernel: k)
        let x = GradientCheck.randomTensor([3, h, w, c], seed: 11)
        // Reference: the unfused pair, one thread.
        var context = ForwardContext(training: true, rng: RandomSource(seed: 1))
        let (full, convCache) = ComputeSettings.$current.withValue(ComputeSettings(parallelism: 1)) {
            conv.forward(x, context: &context)
        }
        let (reference, subCache) = Subsample2().forward(full, context: &context)
        let dy = GradientCheck.randomTensor(reference.shape, seed: 12)
        let referenceGrads = GradientStore()
        let referenceDx = ComputeSettings.$current.withValue(ComputeSettings(parallelism: 1)) {
            conv.backward(Subsample2().backward(dy, cache: subCache, gradients: nil), cache: convCache,
                          gradients: referenceGrads)
        }
        for settings in Self.settings {
            ComputeSettings.$current.withValue(settings) {
                let (y, cache) = conv.forward(x, stride: 2, context: &context)
                #expect(y.shape == reference.shape)
                #expect(Self.maxDifference(y, reference) < 1e-5, "forward, parallelism \(settings.parallelism)")
                let grads = GradientStore()
                let dx = conv.backward(Subsample2().backward(dy, cache: Subsample2.fusedCache, gradients: nil),
                                       cache: cache, gradients: grads)
                #expect(dx.shape == x.shape)
                #expect(Self.maxDifference(dx, referenceDx) < 1e-5, "input gradient, parallelism \(settings.parallelism)")
                for p in conv.parameters {
                    #expect(Self.maxDifference(grads.gradient(for: p)!, referenceGrads.gradient(for: p)!) < 1e-4,
                            "\(p.name) gradient, parallelism \(settings.parallelism)")
                }
            }
        }
    }

    @Test func residualRunsTheFusedForm_andKeepsOneCachePerLayer() {
        var rng = RandomSource(seed: 7)
        let block = Residual(body: [.conv2d(inChannels: 2, outChannels: 4, kernel: 3), .subsample2],
                             shortcut: [.conv2d(inChannels: 2, outChannels: 4, kernel: 1), .subsample2], name: "r", rng: &rng)
        var context = ForwardContext(training: true, rng: RandomSource(seed: 1))
        let (y, cache) = block.forward(GradientCheck.randomTensor([2, 5, 7, 2], seed: 3), context: &context)
        #expect(y.shape == [2, 3, 4, 4])
        #expect(cache.children.count == 4)
        #expect(cache.children[0].indices == [2] && cache.children[1].indices == [1])
    }

    @Test func fusedDownsamplingBlock_oddSize_backward_matchesFiniteDifference() {
        var rng = RandomSource(seed: 7)
        let block = Residual(body: [.conv2d(inChannels: 3, outChannels: 4, kernel: 3), .subsample2,
                                    .batchNorm(channels: 4, momentum: 0.9, epsilon: 1e-3),
                                    .conv2d(inChannels: 4, outChannels: 4, kernel: 3)],
                             shortcut: [.conv2d(inChannels: 3, outChannels: 4, kernel: 1), .subsample2], name: "r", rng: &rng)
        for settings in [ComputeSettings(parallelism: 1), ComputeSettings(parallelism: 3)] {
            ComputeSettings.$current.withValue(settings) {
                GradientCheck.check(block, inputShape: [3, 5, 7, 3], training: true, tolerance: 3e-2)
                GradientCheck.check(block, inputShape: [2, 5, 7, 3], training: false, tolerance: 3e-2)
            }
        }
    }
}
