/// Resizing to a model's input size.
///
/// Each axis is resampled on its own (separable filtering), by the method that suits it:
/// - shrinking: **area averaging** — every output pixel is the mean of the source area it
///   covers, with fractional weights for partly covered source pixels (OpenCV's INTER_AREA,
///   Pillow's BOX). It never aliases, which matters because high-frequency aliasing is exactly
///   the kind of structure adversarial perturbations hide in;
/// - enlarging: **bilinear**, sampling at pixel centres (`src = (dst + 0.5) * in / out - 0.5`,
///   clamped at the edges; `align_corners=False` in PyTorch terms);
/// - same size: copied unchanged.
/// Intermediate values are `Float`; the result is rounded to nearest. Alpha is resampled like
/// any other channel (straight, not premultiplied).
extension Image {
    /// This image resampled to `width` x `height`. See the extension's documentation.
    public func resized(width newWidth: Int, height newHeight: Int) throws(ImagingError) -> Image {
        _ = try Image.sampleCount(width: newWidth, height: newHeight, channels: channels)
        if newWidth == width && newHeight == height { return self }
        let horizontal = ResampleWeights(input: width, output: newWidth)
        let vertical = ResampleWeights(input: height, output: newHeight)
        let c = channels

        // Pass 1: rows, width -> newWidth, into Float [height][newWidth][c].
        let midCount = height * newWidth * c
        let mid = [Float](unsafeUninitializedCapacity: midCount) { dst, initialized in
            pixels.withUnsafeBufferPointer { src in
                horizontal.withBuffers { starts, counts, weights, taps in
                    for y in 0..<height {
                        let srcRow = y * width * c
                        let dstRow = y * newWidth * c
                        for x in 0..<newWidth {
                            let start = Int(starts[x]), n = Int(counts[x]), w0 = x * taps
                            for k in 0..<c {
                                var sum: Float = 0
                                for t in 0..<n {
                                    sum += weights[w0 + t] * Float(src[srcRow + (start + t) * c + k])
                                }
                                dst[dstRow + x * c + k] = sum
                            }
                        }
                    }
                }
            }
            initialized = midCount
        }

        // Pass 2: columns, height -> newHeight, rounding to bytes.
        let rowLength = newWidth * c
        let outCount = newHeight * rowLength
        let out = [UInt8](unsafeUninitializedCapacity: outCount) { dst, initialized in
            mid.withUnsafeBufferPointer { src in
                vertical.withBuffers { starts, counts, weights, taps in
                    for y in 0..<newHeight {
                        let start = Int(starts[y]), n = Int(counts[y]), w0 = y * taps
                        let dstRow = y * rowLength
                        for i in 0..<rowLength {
                            var sum: Float = 0
                            for t in 0..<n {
                                sum += weights[w0 + t] * src[(start + t) * rowLength + i]
                            }
                            dst[dstRow + i] = Image.roundToByte(sum)
                        }
                    }
                }
            }
            initialized = outCount
        }
        return Image(uncheckedWidth: newWidth, height: newHeight, channels: c, pixels: out)
    }

    @inline(__always)
    static func roundToByte(_ v: Float) -> UInt8 {
        let x = v + 0.5
        if x >= 255 { return 255 }
        if !(x >= 1) { return 0 }
        return UInt8(x)
    }
}

/// For one axis: output index i takes `counts[i]` consecutive source samples starting at
/// `starts[i]`, weighted by `weights[i * taps ..< i * taps + counts[i]]` (summing to 1).
struct ResampleWeights {
    private(set) var starts: [Int32] = []
    private(set) var counts: [Int32] = []
    private(set) var weights: [Float] = []
    private(set) var taps = 1

    init(input: Int, output: Int) {
        starts.reserveCapacity(output)
        counts.reserveCapacity(output)
        if output == input {
            for i in 0..<output { append(start: i, [1]) }
        } else if output < input {
            // Area: output pixel i covers source [i * scale, (i + 1) * scale).
            let scale = Double(input) / Double(output)
            taps = Int(scale.rounded(.up)) + 1
            weights.reserveCapacity(output * taps)
            for i in 0..<output {
                let lo = Double(i) * scale, hi = min(Double(i + 1) * scale, Double(input))
                let first = Int(lo.rounded(.down)), last = min(Int(hi.rounded(.up)) - 1, input - 1)
                var w: [Float] = []
                for j in first...last {
                    let overlap = min(hi, Double(j + 1)) - max(lo, Double(j))
                    w.append(Float(max(overlap, 0) / scale))
                }
                append(start: first, w)
            }
        } else {
            // Bilinear at pixel centres.
            let scale = Double(input) / Double(output)
            taps = 2
            weights.reserveCapacity(output * taps)
            for i in 0..<output {
                let src = min(max((Double(i) + 0.5) * scale - 0.5, 0), Double(input - 1))
                let j0 = Int(src.rounded(.down))
                let t = Float(src - Double(j0))
                if j0 + 1 < input && t > 0 {
                    append(start: j0, [1 - t, t])
                } else {
                    append(start: j0, [1])
                }
            }
        }
    }

    private mutating func append(start: Int, _ w: [Float]) {
        precondition(w.count <= taps)
        starts.append(Int32(start))
        counts.append(Int32(w.count))
        weights.append(contentsOf: w)
        weights.append(contentsOf: repeatElement(0, count: taps - w.count))
    }

    func withBuffers<R>(_ body: (UnsafeBufferPointer<Int32>, UnsafeBufferPointer<Int32>,
                                 UnsafeBufferPointer<Float>, Int) -> R) -> R {
        starts.withUnsafeBufferPointer { s in
            counts.withUnsafeBufferPointer { n in
                weights.withUnsafeBufferPointer { w in body(s, n, w, taps) }
            }
        }
    }
}
