import Foundation
import Engine

/// Loss functions: each returns the value (mean over the batch) and the gradient with respect
/// to its input, already divided by the batch size.
public enum Losses {
    /// Softmax cross-entropy on logits `[N, C]` with integer labels.
    /// `L = -1/N Σ_n log softmax(z_n)[y_n]`, `∂L/∂z = (softmax(z) - onehot(y)) / N`.
    public static func softmaxCrossEntropy(logits: Tensor, labels: [Int]) -> (loss: Double, grad: Tensor) {
        let c = logits.shape.last!
        let n = logits.count / c
        precondition(labels.count == n, "softmaxCrossEntropy: \(labels.count) labels for \(n) rows")
        var p = Softmax.apply(logits)
        var loss = 0.0
        for i in 0..<n {
            loss -= log(max(Double(p.storage[i * c + labels[i]]), 1e-30))
            p.storage[i * c + labels[i]] -= 1
        }
        p.scale(by: 1 / Float(n))
        return (loss / Double(n), p)
    }

    /// Per-image sum of squared errors, averaged over the batch (the paper's `MSE · D`).
    public static func sumSquaredError(prediction: Tensor, target: Tensor) -> (loss: Double, grad: Tensor) {
        precondition(prediction.count == target.count, "sumSquaredError: \(prediction.shape) vs \(target.shape)")
        let n = Float(prediction.batchSize)
        var grad = prediction
        var loss = 0.0
        for i in 0..<grad.count {
            let d = prediction.storage[i] - target.storage[i]
            loss += Double(d * d)
            grad.storage[i] = 2 * d / n
        }
        return (loss / Double(n), grad)
    }

    /// Per-image summed binary cross-entropy on probabilities in (0, 1), averaged over the batch.
    /// Predictions are clamped to [1e-7, 1-1e-7] (as Keras does) so the log stays finite.
    public static func binaryCrossEntropy(prediction: Tensor, target: Tensor) -> (loss: Double, grad: Tensor) {
        precondition(prediction.count == target.count, "binaryCrossEntropy: \(prediction.shape) vs \(target.shape)")
        let n = Float(prediction.batchSize)
        let eps: Float = 1e-7
        var grad = prediction
        var loss = 0.0
        for i in 0..<grad.count {
            let raw = prediction.storage[i]
            let p = min(max(raw, eps), 1 - eps)
            let t = target.storage[i]
            loss -= Double(t * logf(p) + (1 - t) * logf(1 - p))
            grad.storage[i] = (raw > eps && raw < 1 - eps) ? (p - t) / (p * (1 - p)) / n : 0
        }
        return (loss / Double(n), grad)
    }

    /// KL(N(μ, e^{logvar}) ‖ N(0, I)) summed over latent dimensions, averaged over the batch:
    /// `-½ Σ_j (1 + logvar_j - μ_j² - e^{logvar_j})`.
    public static func gaussianKL(mean: Tensor, logVariance: Tensor) -> (loss: Double, gradMean: Tensor, gradLogVariance: Tensor) {
        precondition(mean.count == logVariance.count, "gaussianKL: \(mean.shape) vs \(logVariance.shape)")
        let n = Float(mean.batchSize)
        var gm = mean, gl = logVariance
        var loss = 0.0
        for i in 0..<mean.count {
            let m = mean.storage[i], lv = logVariance.storage[i]
            let e = expf(lv)
            loss += Double(-0.5 * (1 + lv - m * m - e))
            gm.storage[i] = m / n
            gl.storage[i] = 0.5 * (e - 1) / n
        }
        return (loss / Double(n), gm, gl)
    }
}
