import Engine
import NeuralNet

/// Patch-wise VAE purification: images of any size are cut into overlapping p×p patches
/// (`PatchGrid`), every patch is purified by a VAE trained on p×p patches, and the
/// reconstructions are averaged where patches overlap. No retraining per image size.
///
/// Patches of all images go through the VAE in large batches (`batchSize`), so the work is a
/// few big GEMMs that the engine spreads over the cores.
public struct PatchVAEPurifier: Purifier {
    public let vae: VariationalAutoencoder
    public let stride: Int
    public let sampling: VariationalAutoencoder.Sampling
    public let batchSize: Int

    public init(vae: VariationalAutoencoder, stride: Int? = nil, sampling: VariationalAutoencoder.Sampling = .sample,
                batchSize: Int = 512) throws(PurificationError) {
        let s = vae.inputShape
        guard s.count == 3, s[0] == s[1] else { throw .invalidOption("patch VAE needs a square p×p×C input, has \(s)") }
        let stride = stride ?? max(1, s[0] / 2)
        guard stride >= 1, stride <= s[0] else { throw .invalidOption("stride \(stride) must be in 1…\(s[0])") }
        self.vae = vae
        self.stride = stride
        self.sampling = sampling
        self.batchSize = batchSize
    }

    public var patch: Int { vae.inputShape[0] }
    public var channels: Int { vae.inputShape[2] }
    public var kind: PurifierKind { .patchVAE }
    public var settings: [String: String] {
        ["patch": String(patch), "stride": String(stride), "sampling": sampling.rawValue, "latent": String(vae.latentDimension)]
    }

    public func purify(_ images: Tensor, rng: inout RandomSource) throws(PurificationError) -> Tensor {
        try run(images, rng: &rng, recording: false).purified
    }

    /// One purification. With `recording`, every chunk's VAE pass keeps its caches and noise
    /// for `purifyWithPullback`; either way the random numbers are drawn in the same order.
    func run(_ images: Tensor, rng: inout RandomSource, recording: Bool) throws(PurificationError) -> Recorded {
        guard images.shape.count == 4, images.shape[3] == channels else {
            throw .shapeMismatch(expected: [-1, -1, channels], got: Array(images.shape.dropFirst()))
        }
        let layout = PatchLayout(images: images.shape, patch: patch, stride: stride)
        let padded = layout.pad(images)
        var sum = [Float](repeating: 0, count: layout.paddedCount)
        var chunks: [Recorded.Chunk] = []
        for lo in Swift.stride(from: 0, to: layout.origins.count, by: batchSize) {
            do { try WorkLimit.checkCurrent() } catch { throw .stopped(error) }
            let range = lo..<min(lo + batchSize, layout.origins.count)
            let batch = layout.gather(padded, range)
            var context = ForwardContext(training: false, rng: rng.split(), recordsCache: recording)
            let out: Tensor
            if recording {
                let pass = vae.forward(batch, sampling: sampling, context: &context)
                chunks.append(Recorded.Chunk(range: range, pass: pass))
                out = pass.reconstruction
            } else {
                out = vae.reconstruct(batch, sampling: sampling, context: &context)
            }
            layout.scatterAdd(out, range, into: &sum)
        }
        return Recorded(layout: layout, chunks: chunks, purified: layout.averageAndCrop(sum))
    }
}
