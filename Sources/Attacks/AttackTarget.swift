import Engine
import NeuralNet

/// What an attack differentiates: a function from images to logits with an input gradient.
///
/// Implementations are immutable and thread-safe; randomness (VAE noise, EOT draws) comes in
/// through `rng`, owned by the caller.
public protocol AttackTarget: Sendable {
    /// The logits (averaged over the target's random draws, if any), the per-image loss values
    /// and `∂(Σ_n L_n)/∂x` for the images `x` `[N, H, W, C]`.
    func lossGradient(_ x: Tensor, loss: AttackLoss, labels: [Int], rng: inout RandomSource)
        -> (logits: Tensor, losses: [Float], gradient: Tensor)

    /// The logits alone, for gradient-free attacks (Square).
    func logits(_ x: Tensor, rng: inout RandomSource) -> Tensor
}

extension AttackTarget {
    /// By default the logits of `lossGradient` (the gradient is computed and dropped).
    public func logits(_ x: Tensor, rng: inout RandomSource) -> Tensor {
        lossGradient(x, loss: .crossEntropy, labels: [Int](repeating: 0, count: x.batchSize), rng: &rng).logits
    }
}

/// The bare classifier: the paper's oblivious threat model differentiates this and then hands
/// the adversarial images to the defense.
public struct ClassifierTarget: AttackTarget {
    public let classifier: Sequential

    public init(classifier: Sequential) { self.classifier = classifier }

    public func lossGradient(_ x: Tensor, loss: AttackLoss, labels: [Int], rng: inout RandomSource)
        -> (logits: Tensor, losses: [Float], gradient: Tensor) {
        var context = ForwardContext(training: false, rng: rng.split(), recordsCache: true)
        let (logits, caches) = classifier.forward(x, context: &context)
        let (values, gradLogits) = loss.evaluate(logits: logits, labels: labels)
        let g = classifier.backward(gradLogits, caches: caches, gradients: nil)
        return (logits, values, g)
    }

    public func logits(_ x: Tensor, rng: inout RandomSource) -> Tensor {
        var context = ForwardContext(training: false, rng: rng.split(), recordsCache: false)
        return classifier(x, context: &context)
    }
}
