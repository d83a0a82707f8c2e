import Engine
import NeuralNet

/// The exact gradient of patch-wise purification, for adaptive attacks: extraction, the VAE
/// and overlap averaging are all differentiable, so an attacker need not fall back to BPDA.
extension PatchVAEPurifier: DifferentiablePurifier {
    /// One purification with what its backward pass needs.
    struct Recorded: Sendable {
        struct Chunk: Sendable {
            let range: Range<Int>
            let pass: VariationalAutoencoder.Pass
        }
        let layout: PatchLayout
        let chunks: [Chunk]
        let purified: Tensor
    }

    public func purifyWithPullback(_ images: Tensor, rng: inout RandomSource) throws(PurificationError)
        -> (purified: Tensor, pullback: @Sendable (Tensor) -> Tensor) {
        let recorded = try run(images, rng: &rng, recording: true)
        let vae = self.vae
        return (recorded.purified, { gradient in
            let layout = recorded.layout
            let gradSum = layout.averageAndCropTransposed(gradient)
            var gradPadded = [Float](repeating: 0, count: layout.paddedCount)
            for chunk in recorded.chunks {
                let gradPatches = vae.backward(chunk.pass, gradReconstruction: layout.gather(gradSum, chunk.range), gradients: nil)
                layout.scatterAdd(gradPatches, chunk.range, into: &gradPadded)
            }
            return layout.padTransposed(gradPadded)
        })
    }
}
