import Foundation
import Engine

/// Square attack, L∞ (Andriushchenko et al. 2020): a gradient-free random search that only
/// reads the logits, so it exposes gradient masking.
///
/// Start: vertical stripes of ±ε per column and channel. Each query: a random s×s window
/// whose perturbation is set to ±ε per channel (redrawn if it would change nothing), kept
/// if the margin loss `z_y − max_{j≠y} z_j` falls. The window's area is a fraction p of the
/// image, halved on the reference's schedule (`p_selection`, rescaled to 10,000 queries).
/// Images stop once misclassified; `queries` is the budget per image.
public struct SquareAttack: Sendable, Equatable {
    public var epsilon: Float
    public var queries: Int
    public var initialFraction: Float

    /// AutoAttack's standard setting: p_init 0.8, 5,000 queries.
    public init(epsilon: Float, queries: Int = 5000, initialFraction: Float = 0.8) {
        self.epsilon = epsilon
        self.queries = queries
        self.initialFraction = initialFraction
    }

    /// The reference's window fraction at query `it` of `total`.
    public static func fraction(initial p: Float, query it: Int, total: Int) -> Float {
        let t = Int(Double(it) / Double(max(total, 1)) * 10_000)
        let divisor: Float = switch t {
        case ...10: 1
        case ...50: 2
        case ...200: 4
        case ...500: 8
        case ...1000: 16
        case ...2000: 32
        case ...4000: 64
        case ...6000: 128
        case ...8000: 256
        default: 512
        }
        return p / divisor
    }

    /// Attacks `x` `[N, H, W, C]`; returns the adversarial images and which are misclassified.
    public func perturb(_ x: Tensor, labels: [Int], target: any AttackTarget, rng: inout RandomSource)
        -> (adversarial: Tensor, fooled: [Bool]) {
        let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let size = x.itemCount
        guard epsilon > 0 else {
            let predictions = target.logits(x, rng: &rng).argmaxPerItem()
            return (x, zip(predictions, labels).map { $0 != $1 })
        }
        var best = x
        for i in 0..<n {
            for col in 0..<w {
                for ch in 0..<c {
                    let sign: Float = rng.nextUniform() < 0.5 ? -epsilon : epsilon
                    for row in 0..<h { best.storage[i * size + (row * w + col) * c + ch] += sign }
                }
            }
        }
        LinfAttack.project(&best, around: x, epsilon: epsilon)
        var margin = margins(target.logits(best, rng: &rng), labels: labels)
        for it in 1..<max(1, queries) {
            let active = (0..<n).filter { margin[$0] > 0 }
            guard !active.isEmpty else { break }
            let p = Self.fraction(initial: initialFraction, query: it, total: queries)
            let s = min(max(Int((p * Float(h * w)).squareRoot().rounded()), 1), h - 1)
            var candidate = best.gather(active)
            for (j, i) in active.enumerated() {
                let (top, left) = (rng.nextInt(h - s + 1), rng.nextInt(w - s + 1))
                var changed = false
                while !changed {
                    for ch in 0..<c {
                        let sign: Float = rng.nextUniform() < 0.5 ? -epsilon : epsilon
                        for row in top..<(top + s) {
                            for col in left..<(left + s) {
                                let o = (row * w + col) * c + ch
                                let v = min(max(x.storage[i * size + o] + sign, 0), 1)
                                if abs(v - best.storage[i * size + o]) > 1e-7 { changed = true }
                                candidate.storage[j * size + o] = v
                            }
                        }
                    }
                }
            }
            let m = margins(target.logits(candidate, rng: &rng), labels: active.map { labels[$0] })
            for (j, i) in active.enumerated() where m[j] < margin[i] {
                margin[i] = m[j]
                best.storage.replaceSubrange((i * size)..<((i + 1) * size), with: candidate.storage[(j * size)..<((j + 1) * size)])
            }
        }
        return (best, margin.map { $0 <= 0 })
    }

    /// `z_y − max_{j≠y} z_j` per image: negative once misclassified.
    func margins(_ logits: Tensor, labels: [Int]) -> [Float] {
        let classes = logits.shape.last!
        return labels.enumerated().map { i, y in
            let row = logits.storage[(i * classes)..<((i + 1) * classes)]
            let other = row.enumerated().filter { $0.offset != y }.map(\.element).max() ?? -.infinity
            return row[row.startIndex + y] - other
        }
    }
}
