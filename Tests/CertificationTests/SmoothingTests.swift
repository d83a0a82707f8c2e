import Testing
import Foundation
import Engine
@testable import Certification

/// f(x) = 1 if w·x + b > 0 else 0 on 2-pixel inputs `[1, 1, 2]`: its smoothed classifier has
/// P(f(x+δ) = 1) = Φ((w·x + b)/(σ‖w‖)), so g's decision boundary is f's hyperplane and the
/// exact L2 distance from x to it is |w·x + b|/‖w‖, the largest radius any certificate may give.
struct LinearToy: BaseClassifier {
    var w: (Float, Float) = (3, -4)
    var b: Float = 0.5
    var classCount: Int { 2 }
    var norm: Double { Double(w.0 * w.0 + w.1 * w.1).squareRoot() }
    func score(_ x: [Float]) -> Double { Double(w.0) * Double(x[0]) + Double(w.1) * Double(x[1]) + Double(b) }
    func labels(_ images: Tensor, rng: inout RandomSource) throws(CertificationError) -> [Int] {
        (0..<images.batchSize).map { i in score(Array(images.storage[(2 * i)..<(2 * i + 2)])) > 0 ? 1 : 0 }
    }
    /// g's exact class-1 probability at x.
    func smoothedProbability(_ x: [Float], sigma: Double) -> Double { NormalQuantile.cdf(score(x) / (sigma * norm)) }
}

/// Ignores its input: a label drawn uniformly from `classCount` classes.
struct UniformRandomToy: BaseClassifier {
    var classCount: Int
    func labels(_ images: Tensor, rng: inout RandomSource) throws(CertificationError) -> [Int] {
        (0..<images.batchSize).map { _ in rng.nextInt(classCount) }
    }
}

struct SmoothingTests {
    @Test func radius_isSigmaTimesInverseNormal() {
        // 0.25 · scipy.stats.norm.ppf(0.9760361871553114)
        #expect(abs(RandomizedSmoothing.radius(pALower: 0.9760361871553114, sigma: 0.25) - 0.49450239553529984) < 1e-12)
        #expect(RandomizedSmoothing.radius(pALower: 0.5, sigma: 1) == 0)
    }

    @Test func certify_onCounts_usesClopperPearsonOfTheSelectedClass() {
        let c = RandomizedSmoothing.certify(selectionCounts: [3, 97], estimationCounts: [10, 990], alpha: 0.001, sigma: 0.25)
        #expect(c.label == 1 && c.countA == 990 && c.n == 1000 && c.n0 == 100)
        #expect(abs(c.pALower - 0.9760361871553114) < 1e-10)
        #expect(abs(c.radius - 0.49450239553529984) < 1e-9)
        // 0.5 · scipy.stats.norm.ppf(scipy.stats.beta.ppf(0.001, 9990, 11))
        let d = RandomizedSmoothing.certify(selectionCounts: [100, 0], estimationCounts: [9990, 10], alpha: 0.001, sigma: 0.5)
        #expect(abs(d.radius - 1.4092991501991226) < 1e-9)
    }

    @Test func certify_onCounts_abstainsWhenLowerBoundNotAboveHalf() {
        // The n0 samples pick class 0, but only half of the n samples agree: p_A = 0.4508 < 1/2.
        let c = RandomizedSmoothing.certify(selectionCounts: [60, 40], estimationCounts: [500, 500], alpha: 0.001, sigma: 0.5)
        #expect(c.abstained && c.radius == 0 && c.label == nil)
    }

    @Test func predict_onCounts_abstainsWhenTopTwoAreSplit() {
        #expect(RandomizedSmoothing.predict(counts: [40, 60, 0], alpha: 0.05) == nil)   // p = 0.0569
        #expect(RandomizedSmoothing.predict(counts: [38, 62, 0], alpha: 0.05) == 1)
        #expect(RandomizedSmoothing.predict(counts: [500, 500], alpha: 0.001) == nil)
        #expect(RandomizedSmoothing.predict(counts: [0, 0, 10], alpha: 0.01) == 2)    // p = 2⁻⁹
    }

    @Test func uniformRandomClassifier_certifyAndPredictAbstain() throws {
        let smoothed = try SmoothedClassifier(base: UniformRandomToy(classCount: 10), sigma: 0.5, batchSize: 256)
        var rng = RandomSource(seed: 7)
        let x = Tensor(shape: [1, 1, 2], repeating: 0.3)
        for _ in 0..<5 {
            let c = try smoothed.certify(x, n0: 100, n: 1000, alpha: 0.001, rng: &rng)
            #expect(c.abstained)
            #expect(c.pALower < 0.2)
            #expect(try smoothed.predict(x, n: 1000, alpha: 0.001, rng: &rng) == nil)
        }
    }

    @Test func predict_abstainsOnAFiftyFiftyClassifier() throws {
        let smoothed = try SmoothedClassifier(base: UniformRandomToy(classCount: 2), sigma: 0.5)
        var rng = RandomSource(seed: 3)
        var abstained = 0
        for _ in 0..<20 where try smoothed.predict(Tensor(shape: [1, 1, 2]), n: 2000, alpha: 0.001, rng: &rng) == nil {
            abstained += 1
        }
        // PREDICT names a class with probability ≤ α = 0.001 per call when the top two tie in
        // expectation; one such call in 20 is allowed (two or more: probability ≈ 2·10⁻⁴).
        #expect(abstained >= 19)
    }

    /// The certified radius is a true lower bound on g's robustness: attacking g with the
    /// worst-case L2 perturbation of that size (straight at the hyperplane) and with random
    /// directions never changes g's exact prediction, while the exact distance is not far above.
    @Test func linearToy_certifiedRadius_isATrueLowerBound_underAttack() throws {
        let toy = LinearToy()
        for (sigma, margin) in [(0.25, 0.5), (0.5, 0.8), (1.0, 1.5), (0.25, -0.3)] {
            // x at signed distance `margin` from the hyperplane along ŵ.
            let unit = (Double(toy.w.0) / toy.norm, Double(toy.w.1) / toy.norm)
            let offset = (margin - Double(toy.b) / toy.norm)
            let x: [Float] = [Float(unit.0 * offset), Float(unit.1 * offset)]
            let smoothed = try SmoothedClassifier(base: toy, sigma: Float(sigma), batchSize: 1000)
            var rng = RandomSource(seed: 11)
            let c = try smoothed.certify(Tensor(shape: [1, 1, 2], storage: x), n0: 100, n: 10_000, alpha: 0.001, rng: &rng)
            let trueLabel = margin > 0 ? 1 : 0
            let exactRadius = abs(toy.score(x)) / toy.norm
            #expect(c.label == trueLabel)
            #expect(c.radius <= exactRadius, "σ=\(sigma): certified \(c.radius) > exact \(exactRadius)")
            #expect(c.radius >= 0.8 * exactRadius, "σ=\(sigma): certified \(c.radius) is far below exact \(exactRadius)")
            // The worst case: move toward the boundary by just under the certified radius.
            let toward = margin > 0 ? -1.0 : 1.0
            let step = c.radius * (1 - 1e-6)
            let attacked: [Float] = [x[0] + Float(toward * unit.0 * step), x[1] + Float(toward * unit.1 * step)]
            let pAttacked = toy.smoothedProbability(attacked, sigma: sigma)
            #expect((pAttacked > 0.5 ? 1 : 0) == trueLabel, "σ=\(sigma): worst-case attack inside the radius flipped g")
            // Monte Carlo PREDICT agrees at the attacked point…
            let predicted = try smoothed.predict(Tensor(shape: [1, 1, 2], storage: attacked), n: 20_000, alpha: 0.001, rng: &rng)
            #expect(predicted == nil || predicted == trueLabel)
            // …random directions of the same norm do no better…
            for _ in 0..<50 {
                let angle = Double(rng.nextUniform()) * 2 * .pi
                let moved: [Float] = [x[0] + Float(step * cos(angle)), x[1] + Float(step * sin(angle))]
                #expect((toy.smoothedProbability(moved, sigma: sigma) > 0.5 ? 1 : 0) == trueLabel)
            }
            // …and just past the exact distance the attack succeeds, so the check can fail.
            let beyond = exactRadius * 1.01
            let flipped: [Float] = [x[0] + Float(toward * unit.0 * beyond), x[1] + Float(toward * unit.1 * beyond)]
            #expect((toy.smoothedProbability(flipped, sigma: sigma) > 0.5 ? 1 : 0) != trueLabel)
        }
    }

    @Test func certify_isReproducibleForASeed() throws {
        let smoothed = try SmoothedClassifier(base: LinearToy(), sigma: 0.5, batchSize: 300)
        let x = Tensor(shape: [1, 1, 2], storage: [0.1, 0.05])
        var a = RandomSource(seed: 5), b = RandomSource(seed: 5)
        #expect(try smoothed.certify(x, n0: 100, n: 1000, alpha: 0.001, rng: &a) == smoothed.certify(x, n0: 100, n: 1000, alpha: 0.001, rng: &b))
    }

    @Test func invalidParameters_areNamed() throws {
        #expect(throws: CertificationError.invalidParameter(name: "sigma", reason: "must be a positive number, got 0.0")) {
            _ = try SmoothedClassifier(base: LinearToy(), sigma: 0)
        }
        let smoothed = try SmoothedClassifier(base: LinearToy(), sigma: 0.5)
        var rng = RandomSource(seed: 1)
        let x = Tensor(shape: [1, 1, 2])
        for (n, n0, alpha, name) in [(0, 10, 0.01, "n"), (10, 0, 0.01, "n0"), (10, 10, 0.0, "alpha"), (10, 10, 1.0, "alpha")] {
            do {
                _ = try smoothed.certify(x, n0: n0, n: n, alpha: alpha, rng: &rng)
                Issue.record("accepted \(name)")
            } catch {
                guard case .invalidParameter(let got, _) = error else { Issue.record("\(error)"); continue }
                #expect(got == name)
            }
        }
    }

    /// Copy i's noise is the i-th generator split off the caller's, whatever the number of
    /// cores the copies are filled on: a seeded certificate is the same on every machine.
    @Test func noisyCopies_doNotDependOnTheNumberOfCores() {
        var rng = RandomSource(seed: 12)
        let t = SmoothedClassifier<LinearToy>.noisyCopies(of: [0.1, 0.2], shape: [1, 1, 2], count: 37, sigma: 1, rng: &rng)
        var reference = RandomSource(seed: 12)
        var expected: [Float] = []
        for _ in 0..<37 {
            var g = reference.split()
            var pair: [Float] = [0, 0]
            g.fillNormal(&pair, count: 2, adding: [0.1, 0.2], scale: 1)
            expected += pair
        }
        #expect(t.storage == expected)
        #expect(rng.next() == reference.next())   // the caller's generator advanced the same way
    }

    @Test func noisyCopies_haveTheRequestedSpread() {
        var rng = RandomSource(seed: 9)
        let t = SmoothedClassifier<LinearToy>.noisyCopies(of: [0.25, 0.75], shape: [1, 1, 2], count: 20_000, sigma: 0.5, rng: &rng)
        let first = stride(from: 0, to: t.count, by: 2).map { Double(t.storage[$0]) }
        let mean = first.reduce(0, +) / Double(first.count)
        let sd = (first.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(first.count)).squareRoot()
        #expect(abs(mean - 0.25) < 0.02 && abs(sd - 0.5) < 0.02)
    }
}
