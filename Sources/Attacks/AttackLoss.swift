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
    /// Croce & Hein's difference of logits ratio, shift- and scale-invariant:
    /// `L_n = −(z_y − max_{j≠y} z_j) / (z_π1 − z_π3 + 10⁻¹²)`, π the classes by falling logit;
    /// attacks ascend it.
    case dlr
    /// Targeted DLR towards `targets[n]`: `L_n = −(z_y − z_t) / (z_π1 − (z_π3 + z_π4)/2 + 10⁻¹²)`;
    /// attacks ascend it.
    case targetedDLR(targets: [Int])

    /// Per-image values and `∂L_n/∂z_n` stacked into `[N, C]`.
    public func evaluate(logits: Tensor, labels: [Int]) -> (values: [Float], gradient: Tensor) {
        let c = logits.shape.last!
        let n = logits.count / c
        precondition(labels.count == n, "AttackLoss: \(labels.count) labels for \(n) rows")
        if case .dlr = self { precondition(c >= 3, "DLR needs at least 3 classes") }
        if case .targetedDLR(let t) = self { precondition(c >= 4 && t.count == n, "targeted DLR: 4+ classes, a target per row") }
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
            case .dlr, .targetedDLR:
                let order = (0..<c).sorted { row[$0] > row[$1] }
                var numerator: (value: Float, minus: Int)
                var denominator: (value: Float, terms: [(Int, Float)])
                if case .targetedDLR(let targets) = self {
                    numerator = (row[y] - row[targets[i]], targets[i])
                    denominator = (row[order[0]] - 0.5 * (row[order[2]] + row[order[3]]) + 1e-12,
                                   [(order[0], 1), (order[2], -0.5), (order[3], -0.5)])
                } else {
                    let other = order[0] == y ? order[1] : order[0]
                    numerator = (row[y] - row[other], other)
                    denominator = (row[order[0]] - row[order[2]] + 1e-12, [(order[0], 1), (order[2], -1)])
                }
                let (a, d) = (numerator.value, denominator.value)
                values[i] = -a / d
                grad.storage[i * c + y] -= 1 / d
                grad.storage[i * c + numerator.minus] += 1 / d
                for (j, w) in denominator.terms { grad.storage[i * c + j] += a / (d * d) * w }
            }
        }
        return (values, grad)
    }
}
