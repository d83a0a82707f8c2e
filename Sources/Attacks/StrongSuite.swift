import Foundation
import Engine

/// The strong evaluation suite (`vaeguard evaluate --suite strong`): AutoAttack's white-box
/// attacks (APGD-CE, APGD-DLR, targeted APGD-DLR) and the gradient-free Square attack, each
/// run on every image; an image counts as robust only if it is classified correctly clean and
/// after every attack (the per-image worst case).
public struct StrongSuite: Sendable, Codable, Equatable {
    public enum Member: String, Sendable, Codable, CaseIterable {
        case apgdCE = "apgd-ce", apgdDLR = "apgd-dlr", apgdT = "apgd-t", square

        /// Square only reads logits; the APGDs differentiate.
        public var isWhiteBox: Bool { self != .square }
    }

    public var members: [Member] = Member.allCases
    public var iterations = 100
    public var restarts = 1
    public var targets = 9
    public var squareQueries = 5000
    /// Draws per gradient for randomized defenses (the APGDs); Square queries one draw.
    public var eotSamples = 10
    /// AutoAttack's order: each attack runs only on the images every earlier attack missed, so
    /// `correctAfter` counts the survivors of that attack and all before it. Off: every attack
    /// runs on every image (per-attack accuracies; slower).
    public var cascade = true

    public init() {}

    /// Runs `member` at `epsilon` on a mini-batch (true `labels`).
    public func attack(_ member: Member, epsilon: Float, x: Tensor, labels: [Int], target: any AttackTarget,
                       rng: inout RandomSource) -> Tensor {
        switch member {
        case .apgdCE:
            APGD(epsilon: epsilon, objective: .crossEntropy, iterations: iterations, restarts: restarts)
                .perturb(x, labels: labels, target: target, rng: &rng).adversarial
        case .apgdDLR:
            APGD(epsilon: epsilon, objective: .dlr, iterations: iterations, restarts: restarts)
                .perturb(x, labels: labels, target: target, rng: &rng).adversarial
        case .apgdT:
            APGD(epsilon: epsilon, objective: .targetedDLR, iterations: iterations, restarts: 1, targets: targets)
                .perturb(x, labels: labels, target: target, rng: &rng).adversarial
        case .square:
            SquareAttack(epsilon: epsilon, queries: squareQueries).perturb(x, labels: labels, target: target, rng: &rng).adversarial
        }
    }
}

/// One (defense, threat, ε) cell of the strong suite: per-attack and worst-case counts.
public struct StrongCell: Sendable, Codable, Equatable {
    public var defense: String
    public var threat: String
    public var epsilon: Double
    public var images: Int
    public var cleanCorrect: Int
    /// Images left correctly classified by each attack (with `cascade`: by it and every attack
    /// before it), keyed by `Member.rawValue`.
    public var correctAfter: [String: Int]
    /// Images correct clean and after every attack.
    public var robust: Int
    public var seconds: Double

    public var robustAccuracy: Double { Double(robust) / Double(max(1, images)) }

    /// The per-image worst case: correct clean and under every attack.
    public static func worstCase(clean: [Bool], attacks: [[Bool]]) -> [Bool] {
        clean.indices.map { i in clean[i] && attacks.allSatisfy { $0[i] } }
    }
}

/// The Carlini et al. (2019) sanity checks on a set of strong-suite cells.
public struct StrongSanity: Sendable, Codable, Equatable {
    /// Robust accuracy never rises as ε grows (per defense and threat).
    public var monotoneInEpsilon: Bool
    /// Accuracy under the unbounded (ε = 1) APGD-CE, per "defense|threat".
    public var unboundedAccuracy: [String: Double]
    /// Cells where Square leaves fewer images correct than the best white-box attack (with
    /// `cascade`: Square broke images every white-box attack missed): a sign of gradient
    /// masking, or of a white-box attack that needs strengthening.
    public var blackBoxBeatsWhiteBox: [String]

    public static func check(_ cells: [StrongCell], unbounded: [String: Double]) -> StrongSanity {
        var monotone = true
        for group in Dictionary(grouping: cells, by: { "\($0.defense)|\($0.threat)" }).values {
            let sorted = group.sorted { $0.epsilon < $1.epsilon }
            for (a, b) in zip(sorted, sorted.dropFirst()) where b.robust > a.robust { monotone = false }
        }
        let flagged = cells.compactMap { cell -> String? in
            let white = StrongSuite.Member.allCases.filter(\.isWhiteBox).compactMap { cell.correctAfter[$0.rawValue] }
            guard let square = cell.correctAfter[StrongSuite.Member.square.rawValue], let best = white.min(), square < best else {
                return nil
            }
            return "\(cell.defense)|\(cell.threat)|ε=\(cell.epsilon): Square \(square) < white-box \(best)"
        }
        return StrongSanity(monotoneInEpsilon: monotone, unboundedAccuracy: unbounded, blackBoxBeatsWhiteBox: flagged)
    }
}
