import Testing
import Engine
@testable import NeuralNet

/// Finite-difference checks in the style of llm.c's `check_tensor`: the analytic gradient of
/// `L = Σ y ⊙ w` (w fixed random) against central differences, for the input and for every
/// parameter, at a sample of coordinates. Forward passes are rerun with the same seed, so
/// dropout masks and VAE noise are identical between the analytic and numeric passes.
enum GradientCheck {
    static func randomTensor(_ shape: [Int], seed: UInt64, range: ClosedRange<Float> = -1...1, awayFromZero: Float = 0) -> Tensor {
        var rng = RandomSource(seed: seed)
        let n = shape.reduce(1, *)
        return Tensor(shape: shape, storage: (0..<n).map { _ in
            var v: Float
            repeat { v = range.lowerBound + rng.nextUniform() * (range.upperBound - range.lowerBound) } while abs(v) < awayFromZero
            return v
        })
    }

    /// Sample of at most `limit` indices spread over `0..<count`.
    static func sampleIndices(_ count: Int, limit: Int = 24, seed: UInt64 = 3) -> [Int] {
        if count <= limit { return Array(0..<count) }
        var rng = RandomSource(seed: seed)
        return (0..<limit).map { _ in rng.nextInt(count) }
    }

    /// Compares `analytic` with the central difference of `loss` at `indices` of `values`.
    static func compare(what: String, analytic: Tensor, indices: [Int], step: Float, tolerance: Float,
                        perturb: (Int, Float) -> Void, loss: () -> Double,
                        sourceLocation: SourceLocation = #_sourceLocation) {
        var worst: Float = 0
        for i in indices {
            perturb(i, step)
            let plus = loss()
            perturb(i, -2 * step)
            let minus = loss()
            perturb(i, step)
            let numeric = Float((plus - minus) / Double(2 * step))
            let a = analytic.storage[i]
            let err = abs(a - numeric) / max(1, abs(a), abs(numeric))
            worst = max(worst, err)
            #expect(err < tolerance, "\(what)[\(i)]: analytic \(a) vs numeric \(numeric)", sourceLocation: sourceLocation)
            if err >= tolerance { return }
        }
    }

    /// Checks the input and parameter gradients of a layer (batch of 2 by default).
    static func check(_ layer: any Layer, inputShape: [Int], training: Bool = true, step: Float = 1e-2,
                      tolerance: Float = 2e-2, inputAwayFromZero: Float = 0,
                      sourceLocation: SourceLocation = #_sourceLocation) {
        var x = randomTensor(inputShape, seed: 11, awayFromZero: inputAwayFromZero)
        func run(_ input: Tensor) -> (Tensor, LayerCache) {
            var ctx = ForwardContext(training: training, rng: RandomSource(seed: 5), recordsCache: true)
            return layer.forward(input, context: &ctx)
        }
        let (y, cache) = run(x)
        let w = randomTensor(y.shape, seed: 12)
        func loss() -> Double {
            let (out, _) = run(x)
            return zip(out.storage, w.storage).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }
        let grads = GradientStore()
        let dx = layer.backward(w, cache: cache, gradients: grads)
        #expect(dx.shape == x.shape, "input gradient shape", sourceLocation: sourceLocation)
        compare(what: "\(layer.spec.typeName) input", analytic: dx, indices: sampleIndices(x.count), step: step,
                tolerance: tolerance, perturb: { i, d in x.storage[i] += d }, loss: loss, sourceLocation: sourceLocation)
        for p in layer.parameters {
            guard let g = grads.gradient(for: p) else {
                Issue.record("no gradient for \(p.name)", sourceLocation: sourceLocation)
                continue
            }
            #expect(g.shape == p.shape, sourceLocation: sourceLocation)
            compare(what: p.name, analytic: g, indices: sampleIndices(p.value.count), step: step, tolerance: tolerance,
                    perturb: { i, d in p.value.storage[i] += d }, loss: loss, sourceLocation: sourceLocation)
        }
    }
}
