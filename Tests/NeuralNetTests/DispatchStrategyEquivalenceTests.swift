import Testing
import TestSupport
import Engine
@testable import NeuralNet

/// The default `ComputeSettings.dispatch` (`queues`) must compute exactly what
/// `concurrentPerform` computes: only the threads that run the chunks differ, not the splits.
@Suite("Dispatch strategies give equal results", .computeBound)
struct DispatchStrategyEquivalenceTests {
    static func under<T>(_ dispatch: DispatchStrategy, _ body: () throws -> T) rethrows -> T {
        var settings = ComputeSettings.current
        settings.parallelism = 2
        settings.dispatch = dispatch
        return try ComputeSettings.$current.withValue(settings, operation: body)
    }

    @Test func defaultStrategy_isQueues() {
        #expect(ComputeSettings.defaults.dispatch == .queues)
    }

    @Test func conv2d_forwardAndBackward_equalUnderBothStrategies() {
        // 9·16·16 rows × 27 × 32 × 2 = 4 MFLOP: two chunks (`Parallel.minFLOPsPerChunk`).
        var rng = RandomSource(seed: 11)
        let layer = Conv2D(inChannels: 3, outChannels: 32, kernel: 3, name: "c", rng: &rng)
        let x = GradientCheck.randomTensor([9, 16, 16, 3], seed: 1)
        let results = DispatchStrategy.allCases.map { dispatch in
            Self.under(dispatch) {
                var ctx = ForwardContext(training: false, rng: RandomSource(seed: 1), recordsCache: true)
                let (y, cache) = layer.forward(x, context: &ctx)
                let gradients = GradientStore()
                let dx = layer.backward(y, cache: cache, gradients: gradients)
                return (y, dx, gradients.gradient(for: layer.weight)!)
            }
        }
        #expect(results[0].0.storage == results[1].0.storage)
        #expect(results[0].1.storage == results[1].1.storage)
        #expect(results[0].2.storage == results[1].2.storage)
    }

    @Test func dense_forward_equalUnderBothStrategies() {
        var rng = RandomSource(seed: 12)
        let layer = Dense(inFeatures: 3136, outFeatures: 1000, name: "d", rng: &rng)
        let x = GradientCheck.randomTensor([32, 3136], seed: 2)
        let outputs = DispatchStrategy.allCases.map { dispatch in
            Self.under(dispatch) {
                var ctx = ForwardContext.inference(seed: 1)
                return layer.forward(x, context: &ctx).output
            }
        }
        #expect(outputs[0].storage == outputs[1].storage)
    }
}
