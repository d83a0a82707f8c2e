import Foundation
import Engine
import NeuralNet
import Attacks

/// TRADES (Zhang et al. 2019): the KL divergence between the clean and the adversarial
/// predictions, its gradients, and the inner maximisation that makes `x′`.
enum TRADES {
    /// Per-image `KL(p ‖ q)` with `p = softmax(clean)`, `q = softmax(adversarial)`, and its
    /// gradients (not divided by N): `∂/∂adversarial = q − p`,
    /// `∂/∂clean_j = p_j·(log p_j − log q_j − KL)`.
    static func divergence(clean: Tensor, adversarial: Tensor) -> (values: [Float], gradClean: Tensor, gradAdversarial: Tensor) {
        let c = clean.shape.last!
        let n = clean.count / c
        var values = [Float](repeating: 0, count: n)
        var gradClean = Tensor(shape: clean.shape), gradAdversarial = Tensor(shape: clean.shape)
        for i in 0..<n {
            let logP = logSoftmax(clean.storage[(i * c)..<((i + 1) * c)])
            let logQ = logSoftmax(adversarial.storage[(i * c)..<((i + 1) * c)])
            var kl: Float = 0
            for j in 0..<c { kl += expf(logP[j]) * (logP[j] - logQ[j]) }
            values[i] = kl
            for j in 0..<c {
                let p = expf(logP[j])
                gradAdversarial.storage[i * c + j] = expf(logQ[j]) - p
                gradClean.storage[i * c + j] = p * (logP[j] - logQ[j] - kl)
            }
        }
        return (values, gradClean, gradAdversarial)
    }

    static func logSoftmax(_ row: ArraySlice<Float>) -> [Float] {
        let m = row.max()!
        let logSum = logf(row.reduce(0) { $0 + expf($1 - m) }) + m
        return row.map { $0 - logSum }
    }

    /// The reference code's inner maximisation: start at `x + 0.001·N(0, 1)`, then `attack.steps`
    /// sign-gradient steps of `attack.stepSize` on `KL(f(x) ‖ f(x′))`, each followed by the
    /// projection onto the ε-ball and [0, 1]. The model runs in inference mode.
    static func perturb(model: Sequential, x: Tensor, attack: LinfAttack, rng: inout RandomSource) -> Tensor {
        var inference = ForwardContext(training: false, rng: rng.split(), recordsCache: true)
        let clean = model(x, context: &inference)
        var adv = x
        for i in 0..<adv.count { adv.storage[i] += 0.001 * rng.nextNormal() }
        LinfAttack.project(&adv, around: x, epsilon: attack.epsilon)
        for _ in 0..<attack.steps {
            let (logits, caches) = model.forward(adv, context: &inference)
            let g = model.backward(divergence(clean: clean, adversarial: logits).gradAdversarial, caches: caches, gradients: nil)
            adv.storage.withUnsafeMutableBufferPointer { a in
                g.storage.withUnsafeBufferPointer { d in
                    for i in 0..<a.count { a[i] += d[i] > 0 ? attack.stepSize : (d[i] < 0 ? -attack.stepSize : 0) }
                }
            }
            LinfAttack.project(&adv, around: x, epsilon: attack.epsilon)
        }
        return adv
    }
}
