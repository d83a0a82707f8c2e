import Engine

/// Per-image distortion of adversarial images, summed for averaging.
public struct Distortion: Sendable, Codable, Equatable {
    /// Σ ‖x − x'‖₂ / ‖x‖₂ (the paper's normalised L2 x-axis, averaged by `count`).
    public var normalisedL2Sum: Double = 0
    /// Σ ‖x − x'‖₂.
    public var l2Sum: Double = 0
    /// max ‖x − x'‖∞.
    public var linfMax: Double = 0
    public var count: Int = 0

    public init() {}

    public init(original x: Tensor, adversarial a: Tensor) {
        let size = x.itemCount
        for b in 0..<x.batchSize {
            var d2 = 0.0, x2 = 0.0, m = 0.0
            for i in (b * size)..<((b + 1) * size) {
                let d = Double(a.storage[i] - x.storage[i])
                d2 += d * d
                x2 += Double(x.storage[i]) * Double(x.storage[i])
                m = max(m, abs(d))
            }
            normalisedL2Sum += x2 > 0 ? d2.squareRoot() / x2.squareRoot() : 0
            l2Sum += d2.squareRoot()
            linfMax = max(linfMax, m)
            count += 1
        }
    }

    public mutating func merge(_ o: Distortion) {
        normalisedL2Sum += o.normalisedL2Sum
        l2Sum += o.l2Sum
        linfMax = max(linfMax, o.linfMax)
        count += o.count
    }

    public var meanNormalisedL2: Double { count > 0 ? normalisedL2Sum / Double(count) : 0 }
    public var meanL2: Double { count > 0 ? l2Sum / Double(count) : 0 }
}
