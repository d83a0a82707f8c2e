import Foundation

/// A hand-written SVG line chart: one polyline per series with markers and ±std error bars.
public struct SVGPlot: Sendable {
    public struct Series: Sendable {
        public var name: String
        /// (x, y, standard deviation of y).
        public var points: [(x: Double, y: Double, std: Double)]
        public init(name: String, points: [(x: Double, y: Double, std: Double)]) {
            self.name = name
            self.points = points
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    public var width = 640.0
    public var height = 420.0

    public init(title: String, xLabel: String, yLabel: String, series: [Series]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
    }

    static let palette = ["#000000", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                          "#7f7f7f", "#bcbd22", "#17becf"]

    /// The SVG document.
    public func render() -> String {
        let left = 60.0, right = 170.0, top = 36.0, bottom = 50.0
        let plotW = width - left - right, plotH = height - top - bottom
        let xs = series.flatMap { $0.points.map(\.x) }
        let xMax = Self.niceCeiling(max(xs.max() ?? 1, 1e-9))
        let xMin = 0.0
        func px(_ x: Double) -> Double { left + (x - xMin) / (xMax - xMin) * plotW }
        func py(_ y: Double) -> Double { top + (1 - min(max(y, 0), 1)) * plotH }
        var s = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="Helvetica, Arial, sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(f(left + plotW / 2))" y="20" text-anchor="middle" font-size="14">\(Self.escape(title))</text>

        """
        for i in 0...5 {
            let y = Double(i) / 5, yy = py(y)
            s += "<line x1=\"\(f(left))\" y1=\"\(f(yy))\" x2=\"\(f(left + plotW))\" y2=\"\(f(yy))\" stroke=\"#e0e0e0\"/>\n"
            s += "<text x=\"\(f(left - 6))\" y=\"\(f(yy + 4))\" text-anchor=\"end\">\(String(format: "%.1f", y))</text>\n"
            let x = xMin + (xMax - xMin) * Double(i) / 5, xx = px(x)
            s += "<line x1=\"\(f(xx))\" y1=\"\(f(top))\" x2=\"\(f(xx))\" y2=\"\(f(top + plotH))\" stroke=\"#f0f0f0\"/>\n"
            s += "<text x=\"\(f(xx))\" y=\"\(f(top + plotH + 16))\" text-anchor=\"middle\">\(Self.tick(x))</text>\n"
        }
        s += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\" fill=\"none\" stroke=\"#333\"/>\n"
        s += "<text x=\"\(f(left + plotW / 2))\" y=\"\(f(height - 12))\" text-anchor=\"middle\">\(Self.escape(xLabel))</text>\n"
        s += "<text transform=\"translate(16 \(f(top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">\(Self.escape(yLabel))</text>\n"
        for (i, serie) in series.enumerated() {
            let color = Self.palette[i % Self.palette.count]
            let pts = serie.points.sorted { $0.x < $1.x }
            if pts.count > 1 {
                let path = pts.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
                s += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.8\" points=\"\(path)\"/>\n"
            }
            for p in pts {
                if p.std > 0 {
                    s += "<line x1=\"\(f(px(p.x)))\" y1=\"\(f(py(p.y - p.std)))\" x2=\"\(f(px(p.x)))\" y2=\"\(f(py(p.y + p.std)))\" stroke=\"\(color)\"/>\n"
                }
                s += "<circle cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"2.6\" fill=\"\(color)\"/>\n"
            }
            let ly = top + 10 + Double(i) * 18
            s += "<line x1=\"\(f(left + plotW + 12))\" y1=\"\(f(ly))\" x2=\"\(f(left + plotW + 32))\" y2=\"\(f(ly))\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
            s += "<text x=\"\(f(left + plotW + 38))\" y=\"\(f(ly + 4))\">\(Self.escape(serie.name))</text>\n"
        }
        return s + "</svg>\n"
    }

    private func f(_ v: Double) -> String { String(format: "%.1f", v) }

    static func tick(_ v: Double) -> String {
        v == 0 ? "0" : (abs(v) >= 1 ? String(format: "%.2g", v) : String(format: "%.3g", v))
    }

    /// The smallest 1/2/2.5/5 × 10^k at or above `v`.
    static func niceCeiling(_ v: Double) -> Double {
        let p = pow(10, floor(log10(v)))
        for m in [1.0, 2, 2.5, 5, 10] where m * p >= v * 0.999_999 { return m * p }
        return 10 * p
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
