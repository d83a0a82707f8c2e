import Foundation
import Attacks

/// Mean and standard deviation over seeds of the cells that share everything but the seed.
public struct SummaryRow: Sendable, Equatable {
    public var dataset: String
    public var attack: AttackKind
    public var norm: String
    public var epsilon: Double
    public var threat: ThreatModel
    public var defense: String
    public var seeds: Int
    public var images: Int
    public var meanAccuracy: Double
    /// Sample standard deviation (n − 1) over seeds; 0 for one seed.
    public var stdAccuracy: Double
    public var normalisedL2: Double
    public var eotSamples: Int

    public static let csvHeader = "dataset,attack,norm,epsilon,threat,defense,seeds,images,mean_accuracy,std_accuracy,normalised_l2,eot_samples"

    public var csvRow: String {
        [dataset, attack.rawValue, norm, String(format: "%.6g", epsilon), threat.rawValue, defense, String(seeds), String(images),
         String(format: "%.6f", meanAccuracy), String(format: "%.6f", stdAccuracy), String(format: "%.6f", normalisedL2),
         String(eotSamples)].joined(separator: ",")
    }

    /// Groups `cells` by everything but the seed.
    public static func summarise(_ cells: [CellResult]) -> [SummaryRow] {
        var groups: [String: [CellResult]] = [:]
        var order: [String] = []
        for c in cells {
            let k = "\(c.dataset)|\(c.attack.rawValue)|\(String(format: "%.6g", c.epsilon))|\(c.threat.rawValue)|\(c.defense)|\(c.images)"
            if groups[k] == nil { order.append(k) }
            groups[k, default: []].append(c)
        }
        return order.map { k in
            let g = groups[k]!
            let (m, s) = meanStd(g.map(\.accuracy))
            let f = g[0]
            return SummaryRow(dataset: f.dataset, attack: f.attack, norm: f.norm, epsilon: f.epsilon, threat: f.threat,
                              defense: f.defense, seeds: g.count, images: f.images, meanAccuracy: m, stdAccuracy: s,
                              normalisedL2: meanStd(g.map(\.normalisedL2)).mean, eotSamples: f.eotSamples)
        }.sorted {
            ($0.dataset, $0.attack, $0.threat, $0.epsilon, $0.defense) < ($1.dataset, $1.attack, $1.threat, $1.epsilon, $1.defense)
        }
    }

    public static func meanStd(_ v: [Double]) -> (mean: Double, std: Double) {
        guard !v.isEmpty else { return (0, 0) }
        let m = v.reduce(0, +) / Double(v.count)
        guard v.count > 1 else { return (m, 0) }
        let s = (v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(v.count - 1)).squareRoot()
        return (m, s)
    }
}
