import Foundation
import Attacks

/// Turns results into `summary.csv`, `summary.md` and SVG plots.
public enum Report {
    /// Groups of summary rows that make one table / one pair of plots: (dataset, attack, threat).
    /// Adaptive groups borrow the undefended (`none`) curve of the oblivious group, which is the
    /// same attack on the same classifier.
    public static func groups(_ rows: [SummaryRow]) -> [(title: String, slug: String, rows: [SummaryRow])] {
        var keys: [String] = []
        var grouped: [String: [SummaryRow]] = [:]
        for r in rows {
            let k = "\(r.dataset)|\(r.attack.rawValue)|\(r.threat.rawValue)"
            if grouped[k] == nil { keys.append(k) }
            grouped[k, default: []].append(r)
        }
        return keys.map { k in
            var g = grouped[k]!
            let f = g[0]
            if f.threat != .oblivious, !g.contains(where: { $0.defense == "none" }) {
                g += rows.filter { $0.dataset == f.dataset && $0.attack == f.attack && $0.threat == .oblivious && $0.defense == "none" }
            }
            return ("\(f.dataset) \(f.attack.rawValue.uppercased()) (\(f.threat.rawValue))",
                    "\(f.dataset)-\(f.attack.rawValue)-\(f.threat.rawValue)", g)
        }
    }

    public static func summaryCSV(_ rows: [SummaryRow]) -> String {
        ([SummaryRow.csvHeader] + rows.map(\.csvRow)).joined(separator: "\n") + "\n"
    }

    /// Column order: none, jpeg by quality, vae variants, patch-vae variants, others.
    static func defenseOrder(_ names: Set<String>) -> [String] {
        names.sorted { a, b in
            func rank(_ n: String) -> (Int, Int, String) {
                if n == "none" { return (0, 0, n) }
                if n.hasPrefix("jpeg:") { return (1, Int(n.dropFirst(5)) ?? 0, n) }
                if n.hasPrefix("vae") { return (2, 0, n) }
                if n.hasPrefix("patch-vae") { return (3, 0, n) }
                return (4, 0, n)
            }
            return rank(a) < rank(b)
        }
    }

    /// Markdown: one table per (dataset, attack, threat), rows ε, columns defenses, cells
    /// `mean ± std` top-1 accuracy in percent; plus the clean table.
    public static func markdown(_ rows: [SummaryRow], clean: [CleanResult], plotsPrefix: String = "plots/") -> String {
        var s = ""
        if !clean.isEmpty { s += cleanMarkdown(clean) + "\n" }
        for g in groups(rows) {
            let defenses = defenseOrder(Set(g.rows.map(\.defense)))
            let epsilons = Array(Set(g.rows.filter { $0.defense != "none" || g.rows.allSatisfy { $0.defense == "none" } }.map(\.epsilon))).sorted()
            let f = g.rows[0]
            let images = Set(g.rows.map(\.images)).sorted().map(String.init).joined(separator: "/")
            let seeds = Set(g.rows.map(\.seeds)).sorted().map(String.init).joined(separator: "/")
            s += "### \(g.title)\n\n"
            s += "Top-1 accuracy (%), mean ± std over \(seeds) seed(s), \(images) test images; ε is \(f.norm == "l2" ? "an L2 radius" : "L∞")"
            if f.threat != .oblivious { s += "; EOT draws per gradient: \(Set(g.rows.filter { $0.threat == f.threat }.map(\.eotSamples)).sorted().map(String.init).joined(separator: "/"))" }
            s += ". Normalised L2 = mean ‖x−x'‖₂/‖x‖₂ (of the first defense column's attack).\n\n"
            s += "| ε | norm. L2 | " + defenses.joined(separator: " | ") + " |\n"
            s += "|---|---|" + defenses.map { _ in "---" }.joined(separator: "|") + "|\n"
            for eps in epsilons {
                let atEps = g.rows.filter { $0.epsilon == eps }
                let l2 = (atEps.first { $0.defense != "none" } ?? atEps.first)?.normalisedL2 ?? 0
                let cells = defenses.map { d -> String in
                    guard let r = atEps.first(where: { $0.defense == d }) else { return "–" }
                    return String(format: "%.1f ± %.1f", 100 * r.meanAccuracy, 100 * r.stdAccuracy)
                }
                s += "| \(String(format: "%.4g", eps)) | \(String(format: "%.3f", l2)) | " + cells.joined(separator: " | ") + " |\n"
            }
            s += "\n![\(g.title) vs ε](\(plotsPrefix)\(g.slug)-eps.svg) ![\(g.title) vs L2](\(plotsPrefix)\(g.slug)-l2.svg)\n\n"
        }
        return s
    }

    /// The clean-accuracy table: classifier alone and after each purifier, mean ± std over seeds.
    public static func cleanMarkdown(_ clean: [CleanResult]) -> String {
        var s = "### Clean accuracy\n\n| dataset | classifier | defense | purification | sampling | images | seeds | top-1 (%) |\n|---|---|---|---|---|---|---|---|\n"
        var keys: [String] = []
        var groups: [String: [CleanResult]] = [:]
        for c in clean {
            let k = "\(c.dataset)|\(c.defense)|\(c.images)"
            if groups[k] == nil { keys.append(k) }
            groups[k, default: []].append(c)
        }
        for k in keys {
            let g = groups[k]!, f = g[0]
            let (m, sd) = SummaryRow.meanStd(g.map(\.accuracy))
            s += "| \(f.dataset) | \(f.classifier) | \(f.defense) | \(f.purification) | \(f.sampling) | \(f.images) | \(g.count) | "
            s += String(format: "%.2f ± %.2f", 100 * m, 100 * sd) + " |\n"
        }
        return s
    }

    /// Two plots per group: accuracy vs ε and accuracy vs normalised L2 distortion.
    public static func plots(_ rows: [SummaryRow]) -> [(name: String, svg: String)] {
        groups(rows).flatMap { g -> [(name: String, svg: String)] in
            let defenses = defenseOrder(Set(g.rows.map(\.defense)))
            let norm = g.rows[0].norm == "l2" ? "L2 radius ε" : "L∞ ε"
            func series(_ x: (SummaryRow) -> Double) -> [SVGPlot.Series] {
                defenses.map { d in
                    SVGPlot.Series(name: d, points: g.rows.filter { $0.defense == d }.map { (x($0), $0.meanAccuracy, $0.stdAccuracy) })
                }
            }
            return [
                ("\(g.slug)-eps.svg", SVGPlot(title: g.title, xLabel: norm, yLabel: "Top-1 accuracy", series: series(\.epsilon)).render()),
                ("\(g.slug)-l2.svg", SVGPlot(title: g.title, xLabel: "normalised L2 distortion mean ‖x−x'‖/‖x‖",
                                            yLabel: "Top-1 accuracy", series: series(\.normalisedL2)).render()),
            ]
        }
    }

    /// Writes summary.csv, summary.md and plots/*.svg from the store's results.
    public static func write(_ store: ResultStore) throws(AttackError) {
        let rows = SummaryRow.summarise(store.cells)
        try store.writeText(summaryCSV(rows), to: "summary.csv")
        try store.writeText(markdown(rows, clean: store.clean), to: "summary.md")
        for p in plots(rows) { try store.writeText(p.svg, to: "plots/\(p.name)") }
    }
}
