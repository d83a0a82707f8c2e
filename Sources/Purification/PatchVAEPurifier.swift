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
        let ranges = Swift.stride(from: 0, to: layout.origins.count, by: batchSize).map {
            $0..<min($0 + batchSize, layout.origins.count)
        }
        // Chunks go to the cores a wave at a time, one whole chunk per core: every layer of the
        // VAE (element-wise ones, sampling and the gather too) then runs in parallel, where
        // splitting each layer over the cores left the non-GEMM work on one core and paid a
        // hand-off per layer. Inside a wave the layers' own splits run inline (`Parallel` runs a
        // call nested in a chunk inline; Dispatch does the same for a nested `concurrentPerform`
        // once the outer one uses every core). The random
        // streams are split in chunk order and the reconstructions added in chunk order, so the
        // result is the same as one chunk after the other.
        let wave = max(1, ComputeSettings.current.parallelism)
        for waveStart in Swift.stride(from: 0, to: ranges.count, by: wave) {
            do { try WorkLimit.checkCurrent() } catch { throw .stopped(error) }
            let members = Array(ranges[waveStart..<min(waveStart + wave, ranges.count)])
            let streams = members.map { _ in rng.split() }
            let passes = UnsafeMutableBufferPointer<VariationalAutoencoder.Pass?>.allocate(capacity: members.count)
            let outputs = UnsafeMutableBufferPointer<Tensor?>.allocate(capacity: members.count)
            passes.initialize(repeating: nil)
            outputs.initialize(repeating: nil)
            defer {
                _ = passes.deinitialize(); passes.deallocate()
                _ = outputs.deinitialize(); outputs.deallocate()
            }
            Parallel.forEachChunk(count: members.count, maxChunks: members.count) { part in
                for i in part {
                    let batch = layout.gather(padded, members[i])
                    var context = ForwardContext(training: false, rng: streams[i], recordsCache: recording)
                    if recording {
                        passes[i] = vae.forward(batch, sampling: sampling, context: &context)
                    } else {
                        outputs[i] = vae.reconstruct(batch, sampling: sampling, context: &context)
                    }
                }
            }
            for (i, range) in members.enumerated() {
                if recording, let pass = passes[i] {
                    chunks.append(Recorded.Chunk(range: range, pass: pass))
                    layout.scatterAdd(pass.reconstruction, range, into: &sum)
                } else if let out = outputs[i] {
                    layout.scatterAdd(out, range, into: &sum)
                }
            }
        }
        return Recorded(layout: layout, chunks: chunks, purified: layout.averageAndCrop(sum))
    }
}
