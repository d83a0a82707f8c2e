import Foundation
import Engine
import NeuralNet
import Purification

/// Small deterministic models and data for the attack and evaluation tests (8×8 grey images, 3 classes).
public enum TinyModels {
    public static let side = 8

    /// Three classes, each a bright 4×4 square in a different place, plus noise.
    public static func dataset(count: Int, seed: UInt64 = 11) -> (images: Tensor, labels: [Int]) {
        var rng = RandomSource(seed: seed)
        var pixels: [Float] = []
        var labels: [Int] = []
        for i in 0..<count {
            let c = i % 3
            labels.append(c)
            for p in 0..<(side * side) {
                let on = template(c)[p] > 0 ? Float(0.7) : 0.2
                pixels.append(min(max(on + 0.15 * (rng.nextUniform() - 0.5), 0), 1))
            }
        }
        return (Tensor(shape: [count, side, side, 1], storage: pixels), labels)
    }

    public static func template(_ c: Int) -> [Float] {
        let (r0, c0) = [(0, 0), (4, 4), (0, 4)][c]
        return (0..<(side * side)).map { p in
            let (r, q) = (p / side, p % side)
            return (r0..<(r0 + 4)).contains(r) && (c0..<(c0 + 4)).contains(q) ? 1 : -1.0 / 3
        }
    }

    /// A linear classifier whose weights are the class templates: accurate on `dataset`, and
    /// easy to fool with an L∞ perturbation of 0.3.
    public static func templateClassifier() throws -> Sequential {
        var rng = RandomSource(seed: 1)
        let d = side * side
        let dense = Dense(inFeatures: d, outFeatures: 3, name: "t", rng: &rng)
        // Weights are [in, out] or [out, in]: fill by shape.
        let shape = dense.weight.value.shape
        var w = [Float](repeating: 0, count: 3 * d)
        for c in 0..<3 {
            for p in 0..<d {
                let v = template(c)[p] * 0.5
                if shape == [3, d] { w[c * d + p] = v } else { w[p * 3 + c] = v }
            }
        }
        dense.weight.value = Tensor(shape: shape, storage: w)
        dense.bias.value = Tensor(shape: [3])
        return try Sequential(inputShape: [side, side, 1], layers: [Flatten(), dense])
    }

    /// A smooth random network (conv → sigmoid → dense) for finite-difference checks.
    public static func smoothClassifier(seed: UInt64 = 3) throws -> Sequential {
        var rng = RandomSource(seed: seed)
        return try Sequential(inputShape: [side, side, 1], layers: [
            Conv2D(inChannels: 1, outChannels: 3, kernel: 3, name: "c", rng: &rng), Sigmoid(), Flatten(),
            Dense(inFeatures: side * side * 3, outFeatures: 3, name: "d", rng: &rng),
        ])
    }

    /// A smooth random VAE with a 4-dimensional latent and noticeable posterior noise, on
    /// `side`×`side` grey images (the whole image, or patches of it for a patch VAE).
    public static func smoothVAE(seed: UInt64 = 5, side: Int = TinyModels.side) throws -> VariationalAutoencoder {
        var rng = RandomSource(seed: seed)
        let d = side * side
        let e = Dense(inFeatures: d, outFeatures: 16, name: "e", rng: &rng)
        let mean = Dense(inFeatures: 16, outFeatures: 4, name: "mu", rng: &rng)
        let logVar = Dense(inFeatures: 16, outFeatures: 4, name: "lv", rng: &rng)
        let g = Dense(inFeatures: 4, outFeatures: d, name: "g", rng: &rng)
        // Larger weights than the default initialisation, so the reconstruction really depends
        // on the input (a near-constant decoder makes every gradient too small to check).
        for layer in [e, mean, g] { layer.weight.value.scale(by: 4) }
        let encoder = try Sequential(inputShape: [side, side, 1], layers: [Flatten(), e, Sigmoid()])
        let decoder = try Sequential(inputShape: [4], layers: [g, Sigmoid(), Reshape([side, side, 1])])
        return try VariationalAutoencoder(encoder: encoder, meanHead: mean, logVarianceHead: logVar, decoder: decoder)
    }

    public static func defended(classifier: Sequential, vae: VariationalAutoencoder?,
                         patchVAE: VariationalAutoencoder? = nil) -> DefendedModel {
        DefendedModel(name: "tiny", version: "1", labels: ["a", "b", "c"], classifier: classifier, vae: vae, patchVAE: patchVAE,
                      threshold: 1)
    }

    public static func randomImages(_ n: Int, seed: UInt64) -> Tensor {
        var rng = RandomSource(seed: seed)
        // Many pixels at or near 0 and 1, to exercise the clipping.
        return Tensor(shape: [n, side, side, 1], storage: (0..<(n * side * side)).map { _ in
            let u = rng.nextUniform()
            return u < 0.2 ? 0 : (u > 0.8 ? 1 : rng.nextUniform())
        })
    }
}
