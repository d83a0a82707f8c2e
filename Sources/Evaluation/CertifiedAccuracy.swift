import Foundation
import Certification

/// Certified accuracy at radius r: the fraction of test images that CERTIFY labels correctly
/// with a radius ≥ r (Cohen et al.'s `analyze.py`, "approximate certified test accuracy").
public enum CertifiedAccuracy {
    /// The radii each dataset's summary reports (issue 18): CIFAR-10 up to 1.0, MNIST up to 2.0.
    public static func reportedRadii(dataset: String) -> [Double] {
        dataset == "mnist" ? [0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0] : [0, 0.25, 0.5, 0.75, 1.0]
    }

    /// Certified accuracy at each radius in `radii`.
    public static func at(_ radii: [Double], rows: [CertificationLog.Row]) -> [Double] {
        guard !rows.isEmpty else { return radii.map { _ in 0 } }
        return radii.map { r in Double(rows.filter { $0.correct && $0.radius >= r }.count) / Double(rows.count) }
    }

    /// A markdown summary: settings, the accuracy table, abstentions and time per image.
    public static func markdown(rows: [CertificationLog.Row], radii: [Double], settings: [(String, String)]) -> String {
        let accuracy = at(radii, rows: rows)
        let abstained = rows.filter { $0.predicted < 0 }.count
        let seconds = rows.map(\.seconds).reduce(0, +)
        var s = "# Certified accuracy (randomized smoothing)\n\n"
        s += settings.map { "- \($0.0): \($0.1)\n" }.joined()
        s += "- images: \(rows.count), abstained: \(abstained)"
        s += String(format: ", mean %.2f s per image\n\n", rows.isEmpty ? 0 : seconds / Double(rows.count))
        s += "| " + radii.map { String(format: "r = %.2f", $0) }.joined(separator: " | ") + " |\n"
        s += "|" + radii.map { _ in "---" }.joined(separator: "|") + "|\n"
        s += "| " + accuracy.map { String(format: "%.1f %%", $0 * 100) }.joined(separator: " | ") + " |\n"
        return s
    }

    /// The same as CSV (`radius,certified_accuracy`).
    public static func csv(rows: [CertificationLog.Row], radii: [Double]) -> String {
        "radius,certified_accuracy\n" + zip(radii, at(radii, rows: rows)).map { String(format: "%.4f,%.6f", $0, $1) }.joined(separator: "\n") + "\n"
    }

    /// Certified accuracy against radius, every 0.01 up to `maxRadius`, as an SVG line chart.
    public static func plot(_ runs: [(name: String, rows: [CertificationLog.Row])], maxRadius: Double, title: String) -> String {
        let grid = stride(from: 0.0, through: maxRadius + 1e-9, by: 0.01).map { $0 }
        let series = runs.map { run in
            SVGPlot.Series(name: run.name, points: zip(grid, at(grid, rows: run.rows)).map { (x: $0, y: $1, std: 0) })
        }
        return SVGPlot(title: title, xLabel: "L2 radius", yLabel: "certified accuracy", series: series).render()
    }
}
