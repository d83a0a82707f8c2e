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
        guard images.shape.count == 4, images.shape[3] == channels else {
            throw .shapeMismatch(expected: [-1, -1, channels], got: Array(images.shape.dropFirst()))
        }
        let (n, h, w, c) = (images.shape[0], images.shape[1], images.shape[2], channels)
        let rows = PatchGrid(length: h, patch: patch, stride: stride)
        let cols = PatchGrid(length: w, patch: patch, stride: stride)
        let (hp, wp) = (rows.paddedLength, cols.paddedLength)
        let padded = (hp == h && wp == w) ? images : Self.padEdges(images, height: hp, width: wp)
        // Every patch as (image, top, left).
        var origins: [(Int, Int, Int)] = []
        origins.reserveCapacity(n * rows.starts.count * cols.starts.count)
        for b in 0..<n { for y in rows.starts { for x in cols.starts { origins.append((b, y, x)) } } }

        var sum = [Float](repeating: 0, count: n * hp * wp * c)
        var coverage = [Float](repeating: 0, count: hp * wp)
        for (y, x) in rows.starts.flatMap({ y in cols.starts.map { (y, $0) } }) {
            for i in 0..<patch { for j in 0..<patch { coverage[(y + i) * wp + x + j] += 1 } }
        }
        let p = patch, rowLength = patch * c
        for lo in Swift.stride(from: 0, to: origins.count, by: batchSize) {
            let chunk = origins[lo..<min(lo + batchSize, origins.count)]
            var batch = Tensor(shape: [chunk.count, p, p, c])
            padded.storage.withUnsafeBufferPointer { src in
                batch.storage.withUnsafeMutableBufferPointer { dst in
                    for (k, (b, y, x)) in chunk.enumerated() {
                        for i in 0..<p {
                            (dst.baseAddress! + (k * p + i) * rowLength)
                                .update(from: src.baseAddress! + ((b * hp + y + i) * wp + x) * c, count: rowLength)
                        }
                    }
                }
            }
            var context = ForwardContext(training: false, rng: rng.split(), recordsCache: false)
            let out = vae.reconstruct(batch, sampling: sampling, context: &context)
            out.storage.withUnsafeBufferPointer { src in
                sum.withUnsafeMutableBufferPointer { dst in
                    for (k, (b, y, x)) in chunk.enumerated() {
                        for i in 0..<p {
                            let d = dst.baseAddress! + ((b * hp + y + i) * wp + x) * c
                            let s = src.baseAddress! + (k * p + i) * rowLength
                            for e in 0..<rowLength { d[e] += s[e] }
                        }
                    }
                }
            }
        }
        // Average overlaps, then crop the padding away.
        var out = Tensor(shape: [n, h, w, c])
        for b in 0..<n {
            for i in 0..<h {
                for j in 0..<w {
                    let inv = 1 / coverage[i * wp + j]
                    for ch in 0..<c { out.storage[((b * h + i) * w + j) * c + ch] = sum[((b * hp + i) * wp + j) * c + ch] * inv }
                }
            }
        }
        return out
    }

    /// Pads to `height`×`width` by repeating the last row and column (edge padding keeps the
    /// patch statistics closer to real content than zeros would).
    static func padEdges(_ x: Tensor, height hp: Int, width wp: Int) -> Tensor {
        let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        var out = Tensor(shape: [n, hp, wp, c])
        for b in 0..<n {
            for i in 0..<hp {
                for j in 0..<wp {
                    let (si, sj) = (min(i, h - 1), min(j, w - 1))
                    for ch in 0..<c { out.storage[((b * hp + i) * wp + j) * c + ch] = x.storage[((b * h + si) * w + sj) * c + ch] }
                }
            }
        }
        return out
    }
}
