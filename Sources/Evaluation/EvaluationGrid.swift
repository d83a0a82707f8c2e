import Foundation
import Engine
import Attacks

/// What `vaeguard evaluate` measures: attacks × ε × threat models × defenses × seeds.
///
/// Seeds: a seed changes (1) the VAE noise of the defense when the adversarial images are
/// classified, (2) PGD's random start and (3) the EOT / BPDA noise the adaptive attacker
/// draws. It does **not** change which images are used (always the first N test images) nor the
/// attack labels (the bare classifier's predictions on the clean images, as in the paper).
public struct EvaluationGrid: Sendable {
    public var dataset: String
    public var attacks: [AttackKind]
    public var epsilons: [AttackKind: [Float]]
    public var defenses: [DefenseSpec]
    /// Explicit threat models.
    public var threats: [ThreatModel]
    /// `--threat adaptive`: add the strongest applicable adaptive attack per defense.
    public var bestAdaptive: Bool
    public var seeds: [UInt64]
    public var settings: AttackSettings

    public init(dataset: String, attacks: [AttackKind], epsilons: [AttackKind: [Float]], defenses: [DefenseSpec],
                threats: [ThreatModel], bestAdaptive: Bool, seeds: [UInt64], settings: AttackSettings) {
        self.dataset = dataset
        self.attacks = attacks
        self.epsilons = epsilons
        self.defenses = defenses
        self.threats = threats
        self.bestAdaptive = bestAdaptive
        self.seeds = seeds
        self.settings = settings
    }

    /// The adaptive threat models run against `defense`.
    public func adaptiveThreats(for defense: DefenseSpec) -> [ThreatModel] {
        var out = threats.filter { $0 != .oblivious && $0.applies(to: defense) }
        if bestAdaptive, let best = ThreatModel.bestAdaptive(for: defense), !out.contains(best) { out.append(best) }
        return out.sorted()
    }

    /// Every cell key of the grid, in run order.
    public var cellKeys: [String] {
        var keys: [String] = []
        for attack in attacks {
            for eps in epsilons[attack] ?? [] {
                if threats.contains(.oblivious) {
                    for seed in seeds {
                        for d in defenses {
                            keys.append(CellResult.key(dataset: dataset, attack: attack, epsilon: Double(eps), threat: .oblivious,
                                                       defense: d.name, seed: seed))
                        }
                    }
                }
                for d in defenses {
                    for t in adaptiveThreats(for: d) {
                        for seed in seeds {
                            keys.append(CellResult.key(dataset: dataset, attack: attack, epsilon: Double(eps), threat: t,
                                                       defense: d.name, seed: seed))
                        }
                    }
                }
            }
        }
        return keys
    }
}

/// Stable 64-bit seeds from strings (FNV-1a then SplitMix finalisation), so a cell's random
/// numbers depend only on its identity, not on the order or the number of workers.
public enum SeedMixer {
    public static func seed(_ parts: String...) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in parts.joined(separator: "|").utf8 {
            h ^= UInt64(byte)
            h = h &* 0x0000_0100_0000_01B3
        }
        h ^= h >> 33
        h = h &* 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 33
        return h
    }
}
