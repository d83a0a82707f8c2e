import Attacks

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

extension StrongCell {
    /// The cell of `work` from its chunks' per-image outcomes: the per-image worst case over
    /// `members`, and the seconds spent on the chunks.
    init(assembling chunks: [StrongChunk], work: StrongPartial, members: [StrongSuite.Member]) {
        let clean = chunks.flatMap { $0.clean?.values ?? [] }
        let survived = members.map { m in chunks.flatMap { $0.correctAfter[m.rawValue]?.values ?? [] } }
        self.init(defense: work.defense, threat: work.threat, epsilon: work.epsilon ?? 1, images: work.images,
                  cleanCorrect: clean.filter { $0 }.count,
                  correctAfter: Dictionary(zip(members.map(\.rawValue), survived.map { $0.filter { $0 }.count }), uniquingKeysWith: { $1 }),
                  robust: StrongCell.worstCase(clean: clean, attacks: survived).filter { $0 }.count,
                  seconds: chunks.reduce(0) { $0 + $1.seconds })
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
