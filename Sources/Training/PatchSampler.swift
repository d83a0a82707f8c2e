import Engine
import Datasets

/// Random p×p crops of random images: the patch VAE's training data.
enum PatchSampler {
    static func sample(_ data: LabeledImages, count: Int, patch p: Int, rng: inout RandomSource) -> Tensor {
        let (h, w, c) = (data.height, data.width, data.channels)
        precondition(p <= h && p <= w, "patch \(p) larger than images \(h)×\(w)")
        var out = [Float](repeating: 0, count: count * p * p * c)
        data.pixels.withUnsafeBufferPointer { src in
            for n in 0..<count {
                let image = rng.nextInt(data.count)
                let y0 = rng.nextInt(h - p + 1), x0 = rng.nextInt(w - p + 1)
                for i in 0..<p {
                    for j in 0..<p {
                        for ch in 0..<c {
                            out[((n * p + i) * p + j) * c + ch] =
                                Float(src[((image * h + y0 + i) * w + x0 + j) * c + ch]) / 255
                        }
                    }
                }
            }
        }
        return Tensor(shape: [count, p, p, c], storage: out)
    }
}
