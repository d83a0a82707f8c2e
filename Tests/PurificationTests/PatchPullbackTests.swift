import Testing
import Engine
import NeuralNet
import TestSupport
@testable import Purification

/// The patch VAE's exact gradient (adaptive attacks differentiate through it): checked against
/// finite differences of ⟨w, p(x)⟩ with the purifier's noise held fixed.
@Suite("Patch-wise purification: pullback", .computeBound)
struct PatchPullbackTests {
    /// A smooth random VAE on p×p×c patches with a 3-dimensional latent.
    static func smoothVAE(patch p: Int, channels c: Int, seed: UInt64 = 4) throws -> VariationalAutoencoder {
        var rng = RandomSource(seed: seed)
        let d = p * p * c
        let e = Dense(inFeatures: d, outFeatures: 8, name: "e", rng: &rng)
        let mean = Dense(inFeatures: 8, outFeatures: 3, name: "mu", rng: &rng)
        let logVar = Dense(inFeatures: 8, outFeatures: 3, name: "lv", rng: &rng)
        let g = Dense(inFeatures: 3, outFeatures: d, name: "g", rng: &rng)
        for layer in [e, mean, g] { layer.weight.value.scale(by: 3) }
        return try VariationalAutoencoder(
            encoder: Sequential(inputShape: [p, p, c], layers: [Flatten(), e, Sigmoid()]), meanHead: mean, logVarianceHead: logVar,
            decoder: Sequential(inputShape: [3], layers: [g, Sigmoid(), Reshape([p, p, c])]))
    }

    static func random(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = RandomSource(seed: seed)
        return Tensor(shape: shape, storage: (0..<shape.reduce(1, *)).map { _ in rng.nextUniform() })
    }

    // (height, width, channels, stride): overlaps, a last patch snapped to the border, and
    // images smaller than a patch (edge padding) on one or both axes.
    @Test(arguments: [(8, 8, 1, 2), (7, 9, 3, 3), (3, 6, 1, 2), (2, 3, 3, 4)])
    func pullback_matchesFiniteDifference(size: (Int, Int, Int, Int)) throws {
        let (h, w, c, stride) = size
        let purifier = try PatchVAEPurifier(vae: Self.smoothVAE(patch: 4, channels: c), stride: stride, batchSize: 5)
        let x = Self.random([2, h, w, c], seed: 1)
        let weights = Self.random([2, h, w, c], seed: 2)
        func objective(_ y: Tensor) throws -> Double {
            var rng = RandomSource(seed: 9)
            let p = try purifier.purify(y, rng: &rng)
            return zip(p.storage, weights.storage).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }
        var rng = RandomSource(seed: 9)
        let (purified, pullback) = try purifier.purifyWithPullback(x, rng: &rng)
        var same = RandomSource(seed: 9)
        #expect(purified.maxAbsDifference(try purifier.purify(x, rng: &same)) == 0, "same noise as purify")
        let gradient = pullback(weights)
        #expect(gradient.shape == x.shape)
        for pair in try FiniteDifference.directional(at: x, gradient: gradient, step: 1e-2, seed: 3, objective) {
            #expect(FiniteDifference.relativeError(pair) < 0.02, "numeric \(pair.numeric) vs analytic \(pair.analytic)")
        }
    }

    @Test func identityModel_pullbackIsTheIdentity() throws {
        // Reconstruction = input, so ∂p/∂x = I whatever the overlaps and padding.
        let purifier = try PatchVAEPurifier(vae: TestNetworks.identityVAE(patch: 8, channels: 3), stride: 3, batchSize: 7)
        let x = Self.random([2, 11, 6, 3], seed: 4)
        let g = Self.random([2, 11, 6, 3], seed: 5)
        var rng = RandomSource(seed: 1)
        let (_, pullback) = try purifier.purifyWithPullback(x, rng: &rng)
        #expect(pullback(g).maxAbsDifference(g) < 1e-5)
    }
}
