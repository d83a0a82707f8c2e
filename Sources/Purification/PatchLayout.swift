import Engine

/// Where every patch of a batch lies in its edge-padded copy, and the moves between images
/// and patch batches that patch-wise purification (and its gradient) is made of.
///
/// The forward pass is `pad` → `gather` → VAE → `scatterAdd` → `averageAndCrop`; each move is
/// linear, and the backward pass runs their transposes the other way.
struct PatchLayout: Sendable {
    let n: Int, h: Int, w: Int, c: Int
    /// Padded height and width (images smaller than a patch are edge-padded up to it).
    let hp: Int, wp: Int
    let p: Int
    /// Every patch as (image, top, left) in the padded image.
    let origins: [(Int, Int, Int)]
    /// 1 / (number of patches covering each padded pixel).
    let inverseCoverage: [Float]

    init(images shape: [Int], patch: Int, stride: Int) {
        (n, h, w, c) = (shape[0], shape[1], shape[2], shape[3])
        p = patch
        let rows = PatchGrid(length: h, patch: patch, stride: stride)
        let cols = PatchGrid(length: w, patch: patch, stride: stride)
        (hp, wp) = (rows.paddedLength, cols.paddedLength)
        var origins: [(Int, Int, Int)] = []
        origins.reserveCapacity(n * rows.starts.count * cols.starts.count)
        for b in 0..<n { for y in rows.starts { for x in cols.starts { origins.append((b, y, x)) } } }
        self.origins = origins
        var coverage = [Float](repeating: 0, count: hp * wp)
        for y in rows.starts {
            for x in cols.starts { for i in 0..<patch { for j in 0..<patch { coverage[(y + i) * wp + x + j] += 1 } } }
        }
        inverseCoverage = coverage.map { $0 > 0 ? 1 / $0 : 0 }
    }

    /// Values in a padded batch `[n, hp, wp, c]`.
    var paddedCount: Int { n * hp * wp * c }

    /// The patches `origins[range]` of a padded batch, as `[count, p, p, c]`.
    func gather(_ padded: [Float], _ range: Range<Int>) -> Tensor {
        let rowLength = p * c
        var batch = Tensor(shape: [range.count, p, p, c])
        padded.withUnsafeBufferPointer { src in
            batch.storage.withUnsafeMutableBufferPointer { dst in
                for (k, (b, y, x)) in origins[range].enumerated() {
                    for i in 0..<p {
                        (dst.baseAddress! + (k * p + i) * rowLength)
                            .update(from: src.baseAddress! + ((b * hp + y + i) * wp + x) * c, count: rowLength)
                    }
                }
            }
        }
        return batch
    }

    /// Adds the patches `patches` (`[count, p, p, c]`, for `origins[range]`) into a padded batch.
    func scatterAdd(_ patches: Tensor, _ range: Range<Int>, into sum: inout [Float]) {
        let rowLength = p * c
        patches.storage.withUnsafeBufferPointer { src in
            sum.withUnsafeMutableBufferPointer { dst in
                for (k, (b, y, x)) in origins[range].enumerated() {
                    for i in 0..<p {
                        let d = dst.baseAddress! + ((b * hp + y + i) * wp + x) * c
                        let s = src.baseAddress! + (k * p + i) * rowLength
                        for e in 0..<rowLength { d[e] += s[e] }
                    }
                }
            }
        }
    }

    /// Divides a padded sum by the coverage and crops the padding away: `[n, h, w, c]`.
    func averageAndCrop(_ sum: [Float]) -> Tensor {
        var out = Tensor(shape: [n, h, w, c])
        for b in 0..<n {
            for i in 0..<h {
                for j in 0..<w {
                    let inv = inverseCoverage[i * wp + j]
                    for ch in 0..<c { out.storage[((b * h + i) * w + j) * c + ch] = sum[((b * hp + i) * wp + j) * c + ch] * inv }
                }
            }
        }
        return out
    }

    /// The transpose of `averageAndCrop`: an image gradient spread onto the padded sum.
    func averageAndCropTransposed(_ g: Tensor) -> [Float] {
        var out = [Float](repeating: 0, count: paddedCount)
        for b in 0..<n {
            for i in 0..<h {
                for j in 0..<w {
                    let inv = inverseCoverage[i * wp + j]
                    for ch in 0..<c { out[((b * hp + i) * wp + j) * c + ch] = g.storage[((b * h + i) * w + j) * c + ch] * inv }
                }
            }
        }
        return out
    }

    /// The images padded to `hp`×`wp` by repeating the last row and column (edge padding keeps
    /// the patch statistics closer to real content than zeros would), as a padded batch.
    func pad(_ x: Tensor) -> [Float] {
        if hp == h && wp == w { return x.storage }
        var out = [Float](repeating: 0, count: paddedCount)
        for b in 0..<n {
            for i in 0..<hp {
                for j in 0..<wp {
                    let (si, sj) = (min(i, h - 1), min(j, w - 1))
                    for ch in 0..<c { out[((b * hp + i) * wp + j) * c + ch] = x.storage[((b * h + si) * w + sj) * c + ch] }
                }
            }
        }
        return out
    }

    /// The transpose of `pad`: each padded pixel's gradient goes back to the pixel it copied.
    func padTransposed(_ g: [Float]) -> Tensor {
        var out = Tensor(shape: [n, h, w, c])
        for b in 0..<n {
            for i in 0..<hp {
                for j in 0..<wp {
                    let (si, sj) = (min(i, h - 1), min(j, w - 1))
                    for ch in 0..<c { out.storage[((b * h + si) * w + sj) * c + ch] += g[((b * hp + i) * wp + j) * c + ch] }
                }
            }
        }
        return out
    }
}
