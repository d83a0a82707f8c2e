import Testing
import Engine
@testable import NeuralNet
import TestSupport

/// A small pre-activation ResNet (the shape of preact18: stem conv, identity block, downsampling
/// block with a projection shortcut, BN-ReLU head) through `Sequential.forward`/`backward`, whose
/// residual blocks run conv + subsample2 as stride-2 convolutions, fuse batch norm and ReLU into
/// the convolution at inference and split batch norm over the cores, against a layer-by-layer reference walk on one core that runs every layer on its own.
/// The logits, the input gradient and every parameter gradient agree to float rounding.
@Suite("Fused network equals the layer-by-layer reference", .computeBound)
struct FusedNetworkEquivalenceTests {
    static func bn(_ c: Int) -> LayerSpec { .batchNorm(channels: c, momentum: 0.9, epsilon: 1e-5) }

    static var specs: [LayerSpec] {
        [.conv2d(inChannels: 3, outChannels: 8, kernel: 3),
         .residual(body: [bn(8), .relu, .conv2d(inChannels: 8, outChannels: 8, kernel: 3), bn(8), .relu,
                          .conv2d(inChannels: 8, outChannels: 8, kernel: 3)], shortcut: []),
         bn(8), .relu,
         .residual(body: [.conv2d(inChannels: 8, outChannels: 16, kernel: 3), .subsample2, bn(16), .relu,
                          .conv2d(inChannels: 16, outChannels: 16, kernel: 3)],
                   shortcut: [.conv2d(inChannels: 8, outChannels: 16, kernel: 1), .subsample2]),
         bn(16), .relu, .globalAveragePool, .dense(inFeatures: 16, outFeatures: 10)]
    }

    /// Every layer on its own (no fusion), residual caches in `Residual.backward`'s layout.
    static func reference(_ layers: [any Layer], _ x: Tensor, context: inout ForwardContext) -> (Tensor, [LayerCache]) {
        var h = x
        var caches: [LayerCache] = []
        for layer in layers {
            if let block = layer as? Residual {
                let (y, bodyCaches) = reference(block.body, h, context: &context)
                let (s, shortcutCaches) = reference(block.shortcut, h, context: &context)
                var out = y
                out.add(s)
                var cache = LayerCache.empty
                cache.children = bodyCaches + shortcutCaches
                caches.append(cache)
                h = out
            } else {
                let (y, cache) = layer.forward(h, context: &context)
                caches.append(cache)
                h = y
            }
        }
        return (h, caches)
    }

    static func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
        zip(a.storage, b.storage).reduce(0) { max($0, abs($1.0 - $1.1) / max(1e-2, abs($1.1))) }
    }

    /// One pass: logits, input gradient, parameter gradients, running statistics afterwards.
    static func pass(fused: Bool, training: Bool, settings: ComputeSettings) throws -> [Tensor] {
        let model = try Sequential(inputShape: [16, 16, 3], specs: specs, prefix: "m", seed: 3)
        let x = GradientCheck.randomTensor([24, 16, 16, 3], seed: 4, range: 0...1)
        let labels = (0..<24).map { $0 % 10 }
        return ComputeSettings.$current.withValue(settings) {
            var context = ForwardContext(training: training, rng: RandomSource(seed: 1), recordsCache: true)
            let (logits, caches) = fused ? model.forward(x, context: &context) : reference(model.layers, x, context: &context)
            let (_, grad) = Losses.softmaxCrossEntropy(logits: logits, labels: labels)
            let grads = GradientStore()
            let dx = model.backward(grad, caches: caches, gradients: grads)
            return [logits, dx] + model.parameters.map { grads.gradient(for: $0)! } + model.buffers.map(\.value)
        }
    }

    /// Inference without caches, where batch norm and ReLU inside the residual blocks join the
    /// convolution before them (after a training pass, so the running statistics are not the
    /// identity).
    @Test func fusedInference_matchesTheReferenceWalk() throws {
        let model = try Sequential(inputShape: [16, 16, 3], specs: Self.specs, prefix: "m", seed: 3)
        let x = GradientCheck.randomTensor([24, 16, 16, 3], seed: 4, range: 0...1)
        var train = ForwardContext(training: true, rng: RandomSource(seed: 1), recordsCache: false)
        _ = model(x, context: &train)
        let reference: Tensor = ComputeSettings.$current.withValue(ComputeSettings(parallelism: 1)) {
            var context = ForwardContext(training: false, rng: RandomSource(seed: 1), recordsCache: false)
            return Self.reference(model.layers, x, context: &context).0
        }
        for cores in [1, 2, 3] {
            let fused: Tensor = ComputeSettings.$current.withValue(ComputeSettings(parallelism: cores)) {
                var context = ForwardContext(training: false, rng: RandomSource(seed: 1), recordsCache: false)
                return model(x, context: &context)
            }
            #expect(fused.shape == reference.shape)
            #expect(Self.maxDifference(fused, reference) < 1e-4, "\(cores) cores")
        }
    }

    @Test(arguments: [true, false])
    func fusedForwardAndBackward_matchTheReferenceWalk(training: Bool) throws {
        let reference = try Self.pass(fused: false, training: training, settings: ComputeSettings(parallelism: 1))
        for cores in [1, 2, 3] {
            let fused = try Self.pass(fused: true, training: training, settings: ComputeSettings(parallelism: cores))
            #expect(fused.count == reference.count)
            for (i, (a, b)) in zip(fused, reference).enumerated() {
                #expect(a.shape == b.shape)
                #expect(Self.maxDifference(a, b) < 1e-4, "tensor \(i) (0 logits, 1 input gradient), \(cores) cores")
            }
        }
    }
}
