import Engine
import NeuralNet

/// Small networks with known behaviour, shared by the purification, service and CLI tests.
public enum TestNetworks {
    /// A VAE whose reconstruction is its input: flatten → identity μ head, log σ² = -60
    /// (σ ≈ 1e-13) → reshape. A stand-in that makes coverage and averaging errors visible.
    public static func identityVAE(patch p: Int, channels c: Int = 1) throws -> VariationalAutoencoder {
        var rng = RandomSource(seed: 1)
        let d = p * p * c
        let mean = Dense(inFeatures: d, outFeatures: d, name: "mu", rng: &rng)
        mean.weight.value = Tensor(shape: [d, d], storage: (0..<(d * d)).map { $0 / d == $0 % d ? 1 : 0 })
        let logVar = Dense(inFeatures: d, outFeatures: d, name: "lv", rng: &rng)
        logVar.weight.value = Tensor(shape: [d, d])
        logVar.bias.value = Tensor(shape: [d], repeating: -60)
        return try VariationalAutoencoder(
            encoder: Sequential(inputShape: [p, p, c], layers: [Flatten()]), meanHead: mean, logVarianceHead: logVar,
            decoder: Sequential(inputShape: [d], layers: [Reshape([p, p, c])]))
    }
}
