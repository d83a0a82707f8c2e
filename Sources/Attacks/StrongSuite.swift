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
