import Engine
import NeuralNet

/// A purifier an attacker can differentiate through exactly: the adaptive threat model
/// (Athalye et al. 2018) needs ∂p(x)/∂x, not an identity stand-in, wherever it exists.
///
/// `purifyWithPullback` runs one purification and returns, with it, the vector–Jacobian
/// product of that very pass: the noise it drew stays fixed, so averaging pullbacks over
/// independent calls is Expectation over Transformation.
public protocol DifferentiablePurifier: Purifier {
    /// One purified sample and its pullback (gradient on the output → gradient on `images`).
    /// Must draw from `rng` exactly as `purify` does, so both give the same images.
    func purifyWithPullback(_ images: Tensor, rng: inout RandomSource) throws(PurificationError)
        -> (purified: Tensor, pullback: @Sendable (Tensor) -> Tensor)
}

extension IdentityPurifier: DifferentiablePurifier {
    public func purifyWithPullback(_ images: Tensor, rng: inout RandomSource) throws(PurificationError)
        -> (purified: Tensor, pullback: @Sendable (Tensor) -> Tensor) {
        (images, { $0 })
    }
}

extension VAEPurifier: DifferentiablePurifier {
    public func purifyWithPullback(_ images: Tensor, rng: inout RandomSource) throws(PurificationError)
        -> (purified: Tensor, pullback: @Sendable (Tensor) -> Tensor) {
        try checkShape(images)
        var context = ForwardContext(training: false, rng: rng.split(), recordsCache: true)
        let pass = vae.forward(images, sampling: sampling, context: &context)
        let vae = self.vae
        return (pass.reconstruction, { vae.backward(pass, gradReconstruction: $0, gradients: nil) })
    }
}
