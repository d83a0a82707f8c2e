import Engine

/// Directional finite-difference checks of a gradient: `(f(x + h·d) − f(x − h·d)) / 2h`
/// against `⟨∇f, d⟩` for random unit directions d. Shared by the attack and purifier tests.
public enum FiniteDifference {
    /// (numeric, analytic) directional derivatives along `directions` unit directions drawn from `seed`.
    public static func directional(at x: Tensor, gradient: Tensor, step: Float, directions: Int = 3, seed: UInt64,
                                   _ objective: (Tensor) throws -> Double) rethrows -> [(numeric: Double, analytic: Double)] {
        var rng = RandomSource(seed: seed)
        var out: [(numeric: Double, analytic: Double)] = []
        for _ in 0..<directions {
            var d = Tensor(shape: x.shape, storage: (0..<x.count).map { _ in rng.nextNormal() })
            d.scale(by: 1 / Float(d.storage.reduce(0) { $0 + $1 * $1 }.squareRoot()))
            var plus = x, minus = x
            plus.add(d, scaledBy: step)
            minus.add(d, scaledBy: -step)
            let numeric = (try objective(plus) - objective(minus)) / Double(2 * step)
            let analytic = zip(gradient.storage, d.storage).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            out.append((numeric, analytic))
        }
        return out
    }

    /// |numeric − analytic| relative to the larger of the two (at least 1e-3).
    public static func relativeError(_ pair: (numeric: Double, analytic: Double)) -> Double {
        abs(pair.numeric - pair.analytic) / max(abs(pair.numeric), abs(pair.analytic), 1e-3)
    }
}
