import Foundation
import Engine
import NeuralNet

/// The per-image objectives attacks optimise, on logits `[N, C]`.
///
/// Unlike `Losses`, gradients are **not** divided by N: each row's gradient is the gradient of
/// that image's own loss, so a batched attack behaves exactly like N independent ones.
public enum AttackLoss: Sendable, Equatable {
    /// `L_n = -log softmax(z_n)[y_n]`; attacks ascend it (untargeted).
    case crossEntropy
    /// Carlini–Wagner's f₆: `L_n = max(z_n[y_n] − max_{j≠y_n} z_n[j], −κ)`; attacks descend it.
    case margin(confidence: Float)

    /// Per-image values and `∂L_n/∂z_n` stacked into `[N, C]`.
    public func evaluate(logits: Tensor, labels: [Int]) -> (values: [Float], gradient: Tensor) {
        let c = logits.shape.last!
        let n = logits.count / c
        precondition(labels.count == n, "AttackLoss: \(labels.count) labels for \(n) rows")
        var grad = Tensor(shape: logits.shape)
        var values = [Float](repeating: 0, count: n)
        for i in 0..<n {
            let row = Array(logits.storage[(i * c)..<((i + 1) * c)])
            let y = labels[i]
            switch self {
            case .crossEntropy:
                let m = row.max()!
                let e = row.map { expf($0 - m) }
                let s = e.reduce(0, +)
                values[i] = -(row[y] - m - logf(s))
                for j in 0..<c { grad.storage[i * c + j] = e[j] / s - (j == y ? 1 : 0) }
            case .margin(let kappa):
                var other = 0
                var best = -Float.infinity
                for j in 0..<c where j != y && row[j] > best { best = row[j]; other = j }
                let v = row[y] - best
                if v > -kappa {
                    values[i] = v
                    grad.storage[i * c + y] = 1
                    grad.storage[i * c + other] = -1
                } else {
                    values[i] = -kappa
                }
            }
        }
        return (values, grad)
    }
}
