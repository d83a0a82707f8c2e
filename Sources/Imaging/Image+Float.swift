/// Memory order of a float tensor made from an image.
public enum PixelLayout: Sendable {
    /// Height, width, channels: the interleaved order of `Image.pixels`.
    case hwc
    /// Channels, height, width: planar, as convolution layers usually want (NCHW without N).
    case chw
}

/// Conversion to and from model input: `Float` samples in [0, 1].
extension Image {
    /// Samples divided by 255, in `layout` order (HWC by default). A true division, not a
    /// multiplication by 1/255, so values are bit-identical to torchvision's `ToTensor()`
    /// (`img.float().div(255)`) and the models see what they were trained on.
    public func floatPixels(layout: PixelLayout = .hwc) -> [Float] {
        let count = pixels.count
        let c = channels, plane = pixelCount
        return [Float](unsafeUninitializedCapacity: count) { dst, initialized in
            pixels.withUnsafeBufferPointer { src in
                switch layout {
                case .hwc:
                    for i in 0..<count { dst[i] = Float(src[i]) / 255 }
                case .chw:
                    for p in 0..<plane {
                        for k in 0..<c { dst[k * plane + p] = Float(src[p * c + k]) / 255 }
                    }
                }
            }
            initialized = count
        }
    }

    /// An image from `Float` samples in [0, 1] (`layout` order, HWC by default): each becomes
    /// `round(v * 255)`, clamped to 0...255; NaN becomes 0. Model outputs overshoot [0, 1]
    /// slightly, so clamping here is expected rather than an error.
    public init(width: Int, height: Int, channels: Int, floats: [Float],
                layout: PixelLayout = .hwc) throws(ImagingError) {
        let count = try Image.sampleCount(width: width, height: height, channels: channels)
        guard floats.count == count else {
            throw .invalidArgument("\(width)x\(height)x\(channels) needs \(count) floats, got \(floats.count)")
        }
        let plane = width * height
        let pixels = [UInt8](unsafeUninitializedCapacity: count) { dst, initialized in
            floats.withUnsafeBufferPointer { src in
                switch layout {
                case .hwc:
                    for i in 0..<count { dst[i] = Image.quantize(src[i]) }
                case .chw:
                    for p in 0..<plane {
                        for k in 0..<channels { dst[p * channels + k] = Image.quantize(src[k * plane + p]) }
                    }
                }
            }
            initialized = count
        }
        self.init(uncheckedWidth: width, height: height, channels: channels, pixels: pixels)
    }

    /// `round(v * 255)` clamped to a byte; the comparisons are written so NaN fails both and
    /// lands on 0.
    @inline(__always)
    static func quantize(_ v: Float) -> UInt8 {
        let x = v * 255 + 0.5
        if x >= 255 { return 255 }
        if !(x >= 1) { return 0 }
        return UInt8(x)   // truncation after +0.5 rounds half up
    }
}
