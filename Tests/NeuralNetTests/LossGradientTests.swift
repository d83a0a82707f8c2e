import Testing
import Engine
@testable import NeuralNet
import TestSupport

@Suite("Loss gradients match finite differences", .computeBound)
struct LossGradientTests {
    /// Checks `grad` against central differences of `loss` with respect to `x`.
    func check(_ x: Tensor, grad: Tensor, step: Float = 1e-3, tolerance: Float = 1e-2, loss: (Tensor) -> Double,
               sourceLocation: SourceLocation = #_sourceLocation) {
        var probe = x
        GradientCheck.compare(what: "loss", analytic: grad, indices: GradientCheck.sampleIndices(x.count), step: step,
                              tolerance: tolerance, perturb: { i, d in probe.storage[i] += d }, loss: { loss(probe) },
                              sourceLocation: sourceLocation)
    }

    @Test func softmaxCrossEntropy_gradient_matchesFiniteDifference() {
        let logits = GradientCheck.randomTensor([4, 5], seed: 1, range: -3...3)
        let labels = [0, 3, 4, 1]
        let (value, grad) = Losses.softmaxCrossEntropy(logits: logits, labels: labels)
        #expect(value > 0)
        check(logits, grad: grad) { Losses.softmaxCrossEntropy(logits: $0, labels: labels).loss }
    }

    @Test func softmaxCrossEntropy_knownValue() {
        // Uniform logits over 4 classes: loss = log 4.
        let (value, _) = Losses.softmaxCrossEntropy(logits: Tensor(shape: [1, 4]), labels: [2])
        #expect(abs(value - 1.3862943611) < 1e-6)
    }

    @Test func sumSquaredError_gradient_matchesFiniteDifference() {
        let p = GradientCheck.randomTensor([3, 4], seed: 2), t = GradientCheck.randomTensor([3, 4], seed: 3)
        let (_, grad) = Losses.sumSquaredError(prediction: p, target: t)
        check(p, grad: grad) { Losses.sumSquaredError(prediction: $0, target: t).loss }
    }

    @Test func binaryCrossEntropy_gradient_matchesFiniteDifference() {
        let p = GradientCheck.randomTensor([3, 4], seed: 4, range: 0.05...0.95)
        let t = GradientCheck.randomTensor([3, 4], seed: 5, range: 0...1)
        let (_, grad) = Losses.binaryCrossEntropy(prediction: p, target: t)
        check(p, grad: grad, step: 1e-3) { Losses.binaryCrossEntropy(prediction: $0, target: t).loss }
    }

    @Test func gaussianKL_gradients_matchFiniteDifference_andVanishAtPrior() {
        let mu = GradientCheck.randomTensor([2, 6], seed: 6), lv = GradientCheck.randomTensor([2, 6], seed: 7)
        let kl = Losses.gaussianKL(mean: mu, logVariance: lv)
        check(mu, grad: kl.gradMean) { Losses.gaussianKL(mean: $0, logVariance: lv).loss }
        check(lv, grad: kl.gradLogVariance) { Losses.gaussianKL(mean: mu, logVariance: $0).loss }
        #expect(Losses.gaussianKL(mean: Tensor(shape: [2, 6]), logVariance: Tensor(shape: [2, 6])).loss == 0)
    }
}
