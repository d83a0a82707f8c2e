import Engine
import NeuralNet

/// Whole-image VAE purification (the paper's MNIST / CIFAR-10 defense): encode, draw
/// z = μ + σ·ε with fresh ε (or take z = μ in `mean` mode), decode.
public struct VAEPurifier: Purifier {
    public let vae: VariationalAutoencoder
    public let sampling: VariationalAutoencoder.Sampling

    public init(vae: VariationalAutoencoder, sampling: VariationalAutoencoder.Sampling = .sample) {
        self.vae = vae
        self.sampling = sampling
    }

    public var kind: PurifierKind { .vae }
    public var settings: [String: String] {
        ["sampling": sampling.rawValue, "latent": String(vae.latentDimension)]
    }

    public func purify(_ images: Tensor, rng: inout RandomSource) throws(PurificationError) -> Tensor {
        try checkShape(images)
        var context = ForwardContext(training: false, rng: rng.split(), recordsCache: false)
        return vae.reconstruct(images, sampling: sampling, context: &context)
    }

    func checkShape(_ images: Tensor) throws(PurificationError) {
        guard Array(images.shape.dropFirst()) == vae.inputShape else {
            throw .shapeMismatch(expected: vae.inputShape, got: Array(images.shape.dropFirst()))
        }
    }
}
