import Testing
import Engine
@testable import NeuralNet
import TestSupport

/// Inference batch norm and max pooling applied inside the convolution before them
/// (docs/PERFORMANCE.md, "Issue 21: certification sampling on CIFAR-10"), and max pooling
/// without the argmax. All must give the separate layers' values bit for bit: a seeded
/// certificate depends on every label.
@Suite("Conv → batch norm → activation → pool fusion", .computeBound)
struct FusedBatchNormTests {
    /// A batch norm with random statistics and affine parameters (variances in [0.25, 2]).
    static func batchNorm(channels: Int, seed: UInt64) -> BatchNorm {
        let bn = BatchNorm(channels: channels, name: "bn\(seed)")
        bn.gamma.value = GradientCheck.randomTensor([channels], seed: seed, range: 0.5...2)
        bn.beta.value = GradientCheck.randomTensor([channels], seed: seed + 1)
        bn.runningMean.value = GradientCheck.randomTensor([channels], seed: seed + 2)
        bn.runningVariance.value = GradientCheck.randomTensor([channels], seed: seed + 3, range: 0.25...2)
        return bn
    }

    static func randomizeBias(_ layer: any Layer, seed: UInt64) {
        FusedConvTests.randomBias(layer.parameters[1], seed: seed)
    }

    @Test func convBatchNormActivation_fusedEqualsSeparateExactly() {
        var rng = RandomSource(seed: 3)
        let convs = FusedConvTests.bothForms(rng: &rng)
        for (i, conv) in convs.enumerated() {
            Self.randomizeBias(conv, seed: UInt64(40 + i))
            let f = conv.parameters[1].shape[0]
            let c = conv.parameters[0].shape[conv is Conv2D ? 2 : 3]
            let bn = Self.batchNorm(channels: f, seed: UInt64(50 + 4 * i))
            let x = GradientCheck.randomTensor([3, 5, 4, c], seed: UInt64(60 + i))
            let activations: [(FusedActivation?, (any Layer)?)] = [(nil, nil), (.relu, ReLU()), (.sigmoid, Sigmoid())]
            for (activation, layer) in activations {
                for settings in [ComputeSettings(parallelism: 1), FusedConvTests.blocked] {
                    ComputeSettings.$current.withValue(settings) {
                        var ctx = ForwardContext.inference(seed: 1)
                        var separate = bn.forward(conv.forward(x, context: &ctx).output, context: &ctx).output
                        if let layer { separate = layer.forward(separate, context: &ctx).output }
                        let fused = conv.forward(x, fusing: ConvEpilogue(affine: bn.inferenceAffine, activation: activation), context: &ctx).output
                        #expect(fused == separate, "layer \(i), \(String(describing: activation))")
                    }
                }
            }
        }
    }

    /// With pooling: whole pairs of image rows per block (one pair per block with `blocked`),
    /// an odd width's last column left out, with and without the batch norm and activation.
    @Test(arguments: [(2, 3, 4, 6), (3, 5, 6, 5), (1, 2, 8, 8)])
    func convPool_fusedEqualsSeparateExactly(shape: (Int, Int, Int, Int)) {
        let (c, f, h, w) = shape
        var rng = RandomSource(seed: UInt64(c * 10 + f))
        let conv = Conv2D(inChannels: c, outChannels: f, kernel: 3, name: "p", rng: &rng)
        Self.randomizeBias(conv, seed: 5)
        let bn = Self.batchNorm(channels: f, seed: 6)
        let x = GradientCheck.randomTensor([3, h, w, c], seed: 7)
        #expect(conv.canPool(inputShape: x.shape))
        let pool = MaxPool2()
        for (norm, activation) in [(false, nil), (true, nil), (false, FusedActivation.relu), (true, .relu), (true, .sigmoid)] {
            let epilogue = ConvEpilogue(affine: norm ? bn.inferenceAffine : nil, activation: activation)
            var ctx = ForwardContext.inference(seed: 1)
            let expected = pool.forward(conv.forward(x, fusing: epilogue, context: &ctx).output, context: &ctx).output
            var pooled = epilogue
            pooled.pool = true
            for settings in [ComputeSettings(parallelism: 1), ComputeSettings(parallelism: 2), FusedConvTests.blocked] {
                ComputeSettings.$current.withValue(settings) {
                    let y = conv.forward(x, fusing: pooled, context: &ctx).output
                    #expect(y.shape == [3, h / 2, w / 2, f])
                    #expect(y == expected, "\(shape) bn \(norm) \(String(describing: activation)) parallelism \(settings.parallelism)")
                }
            }
        }
    }

    /// conv 3→6 + BN + ReLU + pool (fused into the conv at an even height), conv 6→4 + BN (no
    /// activation), conv 4→4 + BN + sigmoid, dense.
    static func network(height: Int = 6) throws -> Sequential {
        var rng = RandomSource(seed: 9)
        let layers: [any Layer] = [
            Conv2D(inChannels: 3, outChannels: 6, kernel: 3, name: "a", rng: &rng), batchNorm(channels: 6, seed: 70), ReLU(),
            MaxPool2(),
            Conv2D(inChannels: 6, outChannels: 4, kernel: 3, name: "b", rng: &rng), batchNorm(channels: 4, seed: 80),
            Conv2D(inChannels: 4, outChannels: 4, kernel: 3, name: "c", rng: &rng), batchNorm(channels: 4, seed: 90), Sigmoid(),
            Flatten(), Dense(inFeatures: 4 * 3 * 4, outFeatures: 5, name: "d", rng: &rng),
        ]
        for (i, layer) in layers.enumerated() where layer is Conv2D { randomizeBias(layer, seed: UInt64(100 + i)) }
        return try Sequential(inputShape: [height, 8, 3], layers: layers)
    }

    static func layerByLayer(_ net: Sequential, _ x: Tensor, context: inout ForwardContext) -> (Tensor, [LayerCache]) {
        var h = x
        var caches: [LayerCache] = []
        for layer in net.layers {
            let (y, cache) = layer.forward(h, context: &context)
            caches.append(cache)
            h = y
        }
        return (h, caches)
    }

    /// Height 6 pools in the first conv, height 7 (odd) pools as its own layer.
    @Test(arguments: [6, 7])
    func sequentialInference_fusedEqualsLayerByLayerOnAnyCoreCount(height: Int) throws {
        let net = try Self.network(height: height)
        let x = GradientCheck.randomTensor([5, height, 8, 3], seed: 11)
        var reference = ForwardContext.inference(seed: 1)
        let (expected, _) = ComputeSettings.$current.withValue(ComputeSettings(parallelism: 1)) {
            Self.layerByLayer(net, x, context: &reference)
        }
        for settings in [ComputeSettings(parallelism: 1), ComputeSettings(parallelism: 2), FusedConvTests.blocked] {
            ComputeSettings.$current.withValue(settings) {
                var ctx = ForwardContext.inference(seed: 1)
                let (y, caches) = net.forward(x, context: &ctx)
                #expect(y == expected, "parallelism \(settings.parallelism)")
                #expect(caches.count == net.layers.count)
                #expect(net(x, context: &ctx) == expected)
            }
        }
    }

    /// With caches (an attack's gradient in eval mode) or in training, batch norm runs as its
    /// own layer: its backward needs x̂, and in training its statistics are the batch's.
    @Test func sequentialWithCaches_keepsBatchNormSeparate() throws {
        let net = try Self.network()
        let x = GradientCheck.randomTensor([2, 6, 8, 3], seed: 12)
        for training in [false, true] {
            var a = ForwardContext(training: training, rng: RandomSource(seed: 1), recordsCache: true)
            var b = ForwardContext(training: training, rng: RandomSource(seed: 1), recordsCache: true)
            // Snapshot the running statistics: training updates them in each pass.
            let stats = net.buffers.map(\.value)
            let (y, caches) = net.forward(x, context: &a)
            for (p, v) in zip(net.buffers, stats) { p.value = v }
            let (expected, expectedCaches) = Self.layerByLayer(net, x, context: &b)
            #expect(y == expected, "training \(training)")
            #expect(caches.count == expectedCaches.count)
            for (c, e) in zip(caches, expectedCaches) { #expect(c.tensors == e.tensors && c.indices == e.indices) }
        }
    }

    /// The vectorised loop (no argmax) against the recording one and a plain reference, on
    /// values with many ties (±0 included) and NaNs: the same maximum, bit for bit.
    @Test(arguments: [1, 3, 16])
    func maxPool_withoutArgmax_equalsRecordingPathBitForBit(channels c: Int) {
        let palette: [Float] = [-1, 0, -0.0, 1, 0.5, .nan, -.infinity]
        var rng = RandomSource(seed: UInt64(c))
        let shape = [2, 5, 7, c]
        let x = Tensor(shape: shape, storage: (0..<shape.reduce(1, *)).map { _ in palette[rng.nextInt(palette.count)] })
        let pool = MaxPool2()
        var plain = ForwardContext.inference(seed: 1)
        var recording = ForwardContext(training: false, rng: RandomSource(seed: 1), recordsCache: true)
        let fast = pool.forward(x, context: &plain).output
        let (slow, cache) = pool.forward(x, context: &recording)
        #expect(fast.shape == [2, 2, 3, c])
        #expect(fast.storage.map(\.bitPattern) == slow.storage.map(\.bitPattern))
        var o = 0
        for n in 0..<2 { for i in 0..<2 { for j in 0..<3 { for ch in 0..<c {
            let at = { (dy: Int, dx: Int) in ((n * 5 + 2 * i + dy) * 7 + 2 * j + dx) * c + ch }
            var best = at(0, 0)
            for idx in [at(0, 1), at(1, 0), at(1, 1)] where x.storage[idx] > x.storage[best] { best = idx }
            #expect(fast.storage[o].bitPattern == x.storage[best].bitPattern)
            #expect(cache.indices[o] == Int32(best))
            o += 1
        } } } }
    }
}
