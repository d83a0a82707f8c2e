import Purification

/// Who the attacker differentiates, recorded in the `threat` column of every result.
public enum ThreatModel: String, Sendable, Codable, CaseIterable, Comparable {
    /// The paper's setting: attack the bare classifier, then purify (the attacker ignores the defense).
    case oblivious
    /// Gradients through the whole pipeline, including the VAE, with EOT over its noise.
    case adaptiveEOT = "adaptive-eot"
    /// BPDA: real purifier forward, identity backward, EOT over the purifier's noise if any.
    case adaptiveBPDA = "adaptive-bpda"

    /// Parses `oblivious,adaptive,adaptive-eot,adaptive-bpda`; `adaptive` means the strongest
    /// applicable adaptive attack per defense (`bestAdaptive`).
    public static func parseList(_ text: String) throws(AttackError) -> (threats: [ThreatModel], bestAdaptive: Bool) {
        var threats: [ThreatModel] = []
        var best = false
        for raw in text.split(separator: ",") {
            let t = raw.trimmingCharacters(in: .whitespaces)
            if t == "adaptive" { best = true; continue }
            guard let m = ThreatModel(rawValue: t) else {
                throw .invalidSpec("unknown threat '\(t)' (oblivious, adaptive, adaptive-eot, adaptive-bpda)")
            }
            if !threats.contains(m) { threats.append(m) }
        }
        return (threats, best)
    }

    /// Whether this threat model means something for `defense`: an adaptive attack on `none`
    /// is the oblivious one; JPEG has no exact gradient (BPDA only); both VAEs have both.
    public func applies(to defense: DefenseSpec) -> Bool {
        switch self {
        case .oblivious: return true
        case .adaptiveEOT: return defense.kind == .vae || defense.kind == .patchVAE
        case .adaptiveBPDA: return defense.kind != .none
        }
    }

    /// The adaptive attack `--threat adaptive` picks for a defense: through the purifier with
    /// EOT when it is differentiable (both VAEs), else BPDA (JPEG); nil for `none`.
    public static func bestAdaptive(for defense: DefenseSpec) -> ThreatModel? {
        switch defense.kind {
        case .none: return nil
        case .vae, .patchVAE: return .adaptiveEOT
        case .jpeg: return .adaptiveBPDA
        }
    }

    public static func < (a: ThreatModel, b: ThreatModel) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}
