import Testing
import Engine
@testable import NeuralNet
import TestSupport

/// Batch norm and ReLU split a batch's feature map over the cores (docs/ROBUSTNESS.md,
/// "Issue 19"): on 1, 2 and 3 cores they give the one-core values (ReLU and the normalisation
/// exactly; the channel sums up to the order of the chunked additions).
@Suite("Batch norm and ReLU on several cores", .computeBound)
struct ParallelElementwiseTests {
    /// Big enough (2^17 floats) that `elementwiseChunks` splits it.
    static let shape = [8, 32, 32, 16]

    static func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
        zip(a.storage, b.storage).reduce(0) { max($0, abs($1.0 - $1.1) / max(1, abs($1.1))) }
    }

    static func run(_ settings: ComputeSettings, training: Bool) -> (y: Tensor, dx: Tensor, grads: [Tensor], running: [Tensor]) {
        ComputeSettings.$current.withValue(settings) {
            let norm = BatchNorm(channels: 16, momentum: 0.9, epsilon: 1e-5, name: "bn")
            norm.gamma.value = GradientCheck.randomTensor([16], seed: 1, range: 0.5...1.5)
            norm.beta.value = GradientCheck.randomTensor([16], seed: 2)
            let x = GradientCheck.randomTensor(shape, seed: 3, range: -2...3)
            var context = ForwardContext(training: training, rng: RandomSource(seed: 1), recordsCache: true)
            let (y, cache) = norm.forward(x, context: &context)
            let grads = GradientStore()
            let dx = norm.backward(GradientCheck.randomTensor(shape, seed: 4), cache: cache, gradients: grads)
            return (y, dx, norm.parameters.map { grads.gradient(for: $0)! }, norm.buffers.map(\.value))
        }
    }

    @Test(arguments: [true, false])
    func batchNorm_severalCores_matchesOneCore(training: Bool) {
        #expect(BatchNorm.elementwiseChunks(count: Self.shape.reduce(1, *), rows: 8 * 32 * 32) > 1)
        let reference = Self.run(ComputeSettings(parallelism: 1), training: training)
        for cores in [2, 3] {
            let r = Self.run(ComputeSettings(parallelism: cores), training: training)
            #expect(Self.maxDifference(r.y, reference.y) < 1e-5, "output, \(cores) cores")
            #expect(Self.maxDifference(r.dx, reference.dx) < 1e-5, "input gradient, \(cores) cores")
            for (g, g1) in zip(r.grads, reference.grads) { #expect(Self.maxDifference(g, g1) < 1e-4, "γ/β gradient, \(cores) cores") }
            for (b, b1) in zip(r.running, reference.running) { #expect(Self.maxDifference(b, b1) < 1e-6, "running statistics") }
        }
    }

    @Test func relu_severalCores_equalsTheSerialMap() {
        let x = GradientCheck.randomTensor(Self.shape, seed: 5)
        let dy = GradientCheck.randomTensor(Self.shape, seed: 6)
        for cores in [1, 2, 3] {
            ComputeSettings.$current.withValue(ComputeSettings(parallelism: cores)) {
                var context = ForwardContext(training: true, rng: RandomSource(seed: 1))
                let (y, cache) = ReLU().forward(x, context: &context)
                #expect(y == x.map { $0 > 0 ? $0 : 0 })
                #expect(ReLU().backward(dy, cache: cache, gradients: nil) == dy.zipMap(y) { g, v in v > 0 ? g : 0 })
            }
        }
    }
}
