import Foundation
import Attacks

/// One measured grid cell: an attack at one ε under one threat model, against one defense,
/// with one seed. Rows of `results.csv` / `results.json`.
public struct CellResult: Sendable, Codable, Equatable {
    public var dataset: String
    public var attack: AttackKind
    /// `linf` or `l2`: how `epsilon` is measured.
    public var norm: String
    public var epsilon: Double
    public var threat: ThreatModel
    public var defense: String
    public var seed: UInt64
    public var images: Int
    public var correct: Int
    /// Top-1 accuracy against the true labels.
    public var accuracy: Double
    /// mean ‖x − x'‖₂ / ‖x‖₂ (the paper's x-axis).
    public var normalisedL2: Double
    public var meanL2: Double
    public var maxLinf: Double
    /// EOT draws per gradient (1 for deterministic targets, 0 for oblivious).
    public var eotSamples: Int
    public var attackSeconds: Double
    public var evaluationSeconds: Double

    /// The identity of the cell (everything but the measurements), for `--resume`.
    public var key: String { Self.key(dataset: dataset, attack: attack, epsilon: epsilon, threat: threat, defense: defense, seed: seed) }

    public static func key(dataset: String, attack: AttackKind, epsilon: Double, threat: ThreatModel, defense: String,
                           seed: UInt64) -> String {
        "\(dataset)|\(attack.rawValue)|\(String(format: "%.6g", epsilon))|\(threat.rawValue)|\(defense)|\(seed)"
    }

    public static let csvHeader = "dataset,attack,norm,epsilon,threat,defense,seed,images,correct,accuracy,normalised_l2,mean_l2,max_linf,eot_samples,attack_seconds,evaluation_seconds"

    public var csvRow: String {
        [dataset, attack.rawValue, norm, String(format: "%.6g", epsilon), threat.rawValue, defense, String(seed), String(images),
         String(correct), String(format: "%.6f", accuracy), String(format: "%.6f", normalisedL2), String(format: "%.6f", meanL2),
         String(format: "%.6f", maxLinf), String(eotSamples), String(format: "%.2f", attackSeconds),
         String(format: "%.2f", evaluationSeconds)].joined(separator: ",")
    }
}

/// Clean (unattacked) accuracy of a classifier alone and after each purifier.
public struct CleanResult: Sendable, Codable, Equatable {
    public var dataset: String
    public var classifier: String
    /// Defense name (`none`, `jpeg:23`, `vae`, `vae:mean`, `patch-vae`, …).
    public var defense: String
    /// `none`, `whole-image`, `patch-wise` or `jpeg`.
    public var purification: String
    public var sampling: String
    public var seed: UInt64
    public var images: Int
    public var correct: Int
    public var accuracy: Double

    public var key: String { "clean|\(dataset)|\(defense)|\(seed)|\(images)" }

    public static let csvHeader = "dataset,classifier,defense,purification,sampling,seed,images,correct,accuracy"

    public var csvRow: String {
        [dataset, classifier, defense, purification, sampling, String(seed), String(images), String(correct),
         String(format: "%.6f", accuracy)].joined(separator: ",")
    }
}
