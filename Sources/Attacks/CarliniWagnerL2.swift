import Foundation
import Engine

/// Carlini–Wagner L2 (untargeted), with Adam in tanh space and a per-image binary search over
/// the trade-off constant c.
///
/// `x' = (tanh(w) + 1)/2`, minimise `‖x' − x‖₂² + c·max(z_y − max_{j≠y} z_j, −κ)`. After each
/// of `binarySteps` runs of `steps` Adam iterations, c shrinks for images that were fooled and
/// grows (×10 until an upper bound is known) for the others. Returns, per image, the fooling
/// image of smallest L2 found, or the original image when none was found (the attack failed).
/// Its output is minimal-norm, not ε-bounded: `projectL2` turns it into an ε-bounded attack.
public struct CarliniWagnerL2: Sendable, Equatable, Codable {
    public var binarySteps: Int
    public var steps: Int
    public var learningRate: Float
    public var initialConstant: Float
    public var confidence: Float

    public init(binarySteps: Int = 5, steps: Int = 100, learningRate: Float = 0.05, initialConstant: Float = 1,
                confidence: Float = 0) {
        self.binarySteps = binarySteps
        self.steps = steps
        self.learningRate = learningRate
        self.initialConstant = initialConstant
        self.confidence = confidence
    }

    public func perturb(_ x: Tensor, labels: [Int], target: any AttackTarget, rng: inout RandomSource) -> Tensor {
        let n = x.batchSize, size = x.itemCount
        let w0 = x.storage.map { atanhf(min(max(2 * $0 - 1, -0.999999), 0.999999)) }
        var best = x
        var bestL2 = [Float](repeating: .infinity, count: n)
        var c = [Float](repeating: initialConstant, count: n)
        var lower = [Float](repeating: 0, count: n)
        var upper = [Float](repeating: 1e10, count: n)
        let (beta1, beta2, adamEps): (Float, Float, Float) = (0.9, 0.999, 1e-8)
        for _ in 0..<binarySteps {
            var w = w0
            var m = [Float](repeating: 0, count: w.count), v = m
            var fooled = [Bool](repeating: false, count: n)
            for t in 1...max(1, steps) {
                let adv = Tensor(shape: x.shape, storage: w.map { (tanhf($0) + 1) / 2 })
                let (logits, _, gf) = target.lossGradient(adv, loss: .margin(confidence: confidence), labels: labels, rng: &rng)
                let predicted = logits.argmaxPerItem()
                let classes = logits.itemCount
                for b in 0..<n {
                    var l2: Float = 0
                    for i in (b * size)..<((b + 1) * size) { let d = adv.storage[i] - x.storage[i]; l2 += d * d }
                    let zy = logits.storage[b * classes + labels[b]]
                    var other = -Float.infinity
                    for j in 0..<classes where j != labels[b] { other = max(other, logits.storage[b * classes + j]) }
                    let success = predicted[b] != labels[b] && other - zy >= confidence
                    if success {
                        fooled[b] = true
                        if l2 < bestL2[b] {
                            bestL2[b] = l2
                            best.storage.replaceSubrange((b * size)..<((b + 1) * size), with: adv.storage[(b * size)..<((b + 1) * size)])
                        }
                    }
                }
                // ∂/∂x' = 2(x' − x) + c·∂f/∂x';  ∂x'/∂w = (1 − tanh²(w))/2.
                let corr1 = 1 - powf(beta1, Float(t)), corr2 = 1 - powf(beta2, Float(t))
                for b in 0..<n {
                    for i in (b * size)..<((b + 1) * size) {
                        let th = 2 * adv.storage[i] - 1
                        let g = (2 * (adv.storage[i] - x.storage[i]) + c[b] * gf.storage[i]) * (1 - th * th) / 2
                        m[i] = beta1 * m[i] + (1 - beta1) * g
                        v[i] = beta2 * v[i] + (1 - beta2) * g * g
                        w[i] -= learningRate * (m[i] / corr1) / ((v[i] / corr2).squareRoot() + adamEps)
                    }
                }
            }
            for b in 0..<n {
                if fooled[b] {
                    upper[b] = min(upper[b], c[b])
                    c[b] = (lower[b] + upper[b]) / 2
                } else {
                    lower[b] = max(lower[b], c[b])
                    c[b] = upper[b] < 1e9 ? (lower[b] + upper[b]) / 2 : c[b] * 10
                }
            }
        }
        return best
    }

    /// Scales each image's perturbation down to L2 norm ≤ `radius` (an ε-bounded L2 attack from
    /// a minimal-norm one), then clips to [0, 1].
    public static func projectL2(_ adv: Tensor, around x: Tensor, radius: Float) -> Tensor {
        var out = adv
        let size = x.itemCount
        for b in 0..<x.batchSize {
            var norm: Float = 0
            for i in (b * size)..<((b + 1) * size) { let d = adv.storage[i] - x.storage[i]; norm += d * d }
            norm = norm.squareRoot()
            guard norm > radius else { continue }
            let s = radius / norm
            for i in (b * size)..<((b + 1) * size) {
                out.storage[i] = min(max(x.storage[i] + s * (adv.storage[i] - x.storage[i]), 0), 1)
            }
        }
        return out
    }
}
