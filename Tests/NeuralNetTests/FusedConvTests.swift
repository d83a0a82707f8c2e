import Testing
import Engine
@testable import NeuralNet
import TestSupport

/// The convolution paths added for patch purification (docs/PERFORMANCE.md, "Issue 21,
/// session 6"): the col2im form of a narrowing convolution, the bias and activation fused into
/// the GEMM blocks, and `Sequential` running a conv + ReLU/sigmoid pair as one layer. Fusing
/// must not change a value; the col2im form changes the order of the sums only.
@Suite("Fused and col2im-form convolutions", .computeBound)
struct FusedConvTests {
    /// Small blocks and more workers than chunks, so blocking and splitting really run.
    static let blocked: ComputeSettings = {
        var settings = ComputeSettings(parallelism: 3, convBlockRows: 64)
        settings.convBlockBytes = 4 << 10
        return settings
    }()

    static func randomBias(_ p: Parameter, seed: UInt64) {
        p.value = GradientCheck.randomTensor(p.shape, seed: seed)
    }

    /// One convolution per code path: 6→4 and 4→2 run in the col2im form, 2→5 and 5→5 in the
    /// im2col form (plain and transposed).
    static func bothForms(rng: inout RandomSource) -> [any ActivationFusing] {
        [Conv2D(inChannels: 6, outChannels: 4, kernel: 3, name: "a", rng: &rng),
         Conv2D(inChannels: 2, outChannels: 5, kernel: 3, name: "b", rng: &rng),
         ConvTranspose2D(inChannels: 4, outChannels: 2, kernel: 3, name: "c", rng: &rng),
         ConvTranspose2D(inChannels: 5, outChannels: 5, kernel: 3, name: "d", rng: &rng)]
    }

    @Test func flipped_twiceIsTheIdentity() {
        let m = GradientCheck.randomTensor([9 * 4, 3], seed: 1)
        let once = ConvKernels.flipped(m, kernel: 3)
        #expect(once.shape == [9 * 3, 4])
        #expect(ConvKernels.flipped(once, kernel: 3) == m)
    }

    @Test(arguments: [(5, 2), (2, 5), (64, 3), (3, 3)])
    func scatterForm_equalsIm2colForm(channels: (Int, Int)) {
        let (c, f) = channels
        let w = GradientCheck.randomTensor([9 * c, f], seed: 2)
        let bias = GradientCheck.randomTensor([f], seed: 3)
        let x = GradientCheck.randomTensor([5, 6, 7, c], seed: 4)
        for activation in [nil, FusedActivation.relu, .sigmoid] {
            let reference = ConvKernels.forward(x, weight: w, bias: bias, epilogue: ConvEpilogue(activation: activation), kernel: 3, outChannels: f)
            for settings in [ComputeSettings(parallelism: 1), Self.blocked] {
                let y = ComputeSettings.$current.withValue(settings) {
                    ConvKernels.scatter(x, weight: ConvKernels.flipped(w, kernel: 3), bias: bias, epilogue: ConvEpilogue(activation: activation),
                                        kernel: 3, outChannels: f)
                }
                #expect(y.shape == reference.shape)
                #expect(y.maxAbsDifference(reference) < 1e-5, "\(c)→\(f) \(String(describing: activation))")
            }
        }
    }

    @Test func fusedActivation_equalsSeparateLayersExactly() {
        var rng = RandomSource(seed: 5)
        let convs = Self.bothForms(rng: &rng)
        for (i, conv) in convs.enumerated() {
            Self.randomBias(conv.parameters[1], seed: UInt64(10 + i))
            let c = conv.parameters[0].shape[conv is Conv2D ? 2 : 3]
            let x = GradientCheck.randomTensor([3, 5, 4, c], seed: UInt64(20 + i))
            for (activation, layer) in [(FusedActivation.relu, ReLU() as any Layer), (.sigmoid, Sigmoid())] {
                for settings in [ComputeSettings(parallelism: 1), Self.blocked] {
                    ComputeSettings.$current.withValue(settings) {
                        var ctx = ForwardContext.inference(seed: 1)
                        let separate = layer.forward(conv.forward(x, context: &ctx).output, context: &ctx).output
                        let fused = conv.forward(x, fusing: activation, context: &ctx).output
                        #expect(fused == separate, "layer \(i), \(activation)")
                    }
                }
            }
        }
    }

    /// conv 6→4 (col2im form) + ReLU, conv 4→5 (im2col form) + ReLU, convT 5→3 (col2im form) + sigmoid.
    static func network() throws -> Sequential {
        var rng = RandomSource(seed: 7)
        let layers: [any Layer] = [
            Conv2D(inChannels: 6, outChannels: 4, kernel: 3, name: "a", rng: &rng), ReLU(),
            Conv2D(inChannels: 4, outChannels: 5, kernel: 3, name: "b", rng: &rng), ReLU(),
            ConvTranspose2D(inChannels: 5, outChannels: 3, kernel: 3, name: "c", rng: &rng), Sigmoid(),
        ]
        for (i, p) in layers.flatMap(\.parameters).enumerated() where p.shape.count == 1 { randomBias(p, seed: UInt64(30 + i)) }
        return try Sequential(inputShape: [5, 4, 6], layers: layers)
    }

    @Test func sequential_fusedForwardAndBackwardEqualLayerByLayer() throws {
        let net = try Self.network()
        let x = GradientCheck.randomTensor([2, 5, 4, 6], seed: 8)
        var ctx = ForwardContext(training: true, rng: RandomSource(seed: 1), recordsCache: true)
        let (y, caches) = net.forward(x, context: &ctx)
        // Layer by layer, no fusion.
        var h = x
        var separateCaches: [LayerCache] = []
        for layer in net.layers {
            let (out, cache) = layer.forward(h, context: &ctx)
            separateCaches.append(cache)
            h = out
        }
        #expect(y == h)
        #expect(caches.count == separateCaches.count)
        for (a, b) in zip(caches, separateCaches) { #expect(a.tensors == b.tensors) }
        let gy = GradientCheck.randomTensor(y.shape, seed: 9)
        let (g1, g2) = (GradientStore(), GradientStore())
        let dx1 = net.backward(gy, caches: caches, gradients: g1)
        let dx2 = net.backward(gy, caches: separateCaches, gradients: g2)
        #expect(dx1 == dx2)
        for p in net.parameters { #expect(g1.gradient(for: p) == g2.gradient(for: p), "\(p.name)") }
    }

    @Test func sequential_fusedBackwardMatchesFiniteDifference() throws {
        let net = try Self.network()
        var x = GradientCheck.randomTensor([2, 5, 4, 6], seed: 8)
        let w = GradientCheck.randomTensor([2, 5, 4, 3], seed: 10)
        func run() -> (Tensor, [LayerCache]) {
            var ctx = ForwardContext(training: true, rng: RandomSource(seed: 1), recordsCache: true)
            return net.forward(x, context: &ctx)
        }
        func loss() -> Double { zip(run().0.storage, w.storage).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } }
        let grads = GradientStore()
        let dx = net.backward(w, caches: run().1, gradients: grads)
        GradientCheck.compare(what: "input", analytic: dx, indices: GradientCheck.sampleIndices(x.count), step: 1e-2,
                              tolerance: 2e-2, perturb: { i, d in x.storage[i] += d }, loss: loss)
        for p in net.parameters {
            GradientCheck.compare(what: p.name, analytic: grads.gradient(for: p)!, indices: GradientCheck.sampleIndices(p.value.count),
                                  step: 1e-2, tolerance: 2e-2, perturb: { i, d in p.value.storage[i] += d }, loss: loss)
        }
    }

    @Test func conv2dNarrowing_backwardMatchesFiniteDifference() {
        // C > F: the forward runs in the col2im form.
        var rng = RandomSource(seed: 12)
        let layer = Conv2D(inChannels: 5, outChannels: 2, kernel: 3, name: "c", rng: &rng)
        Self.randomBias(layer.bias, seed: 13)
        GradientCheck.check(layer, inputShape: [2, 5, 6, 5])
    }
}
