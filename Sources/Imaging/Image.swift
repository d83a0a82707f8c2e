/// A decoded 8-bit image: `height` rows of `width` pixels, each pixel `channels` interleaved
/// samples (HWC, row-major, no padding), so sample `c` of pixel `(x, y)` is at
/// `(y * width + x) * channels + c`.
///
/// `channels` is 1 (gray), 3 (RGB) or 4 (RGBA, straight, not premultiplied, alpha). There is
/// no 2-channel gray+alpha layout: decoders expand it to RGBA, which keeps every conversion
/// and the model input path down to three cases.
public struct Image: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public let channels: Int
    /// The samples; always exactly `width * height * channels` of them.
    public private(set) var pixels: [UInt8]

    /// Wraps existing samples, checking the shape so every other method can trust it.
    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) throws(ImagingError) {
        let count = try Image.sampleCount(width: width, height: height, channels: channels)
        guard pixels.count == count else {
            throw .invalidArgument("\(width)x\(height)x\(channels) needs \(count) samples, got \(pixels.count)")
        }
        self.init(uncheckedWidth: width, height: height, channels: channels, pixels: pixels)
    }

    /// An image with every sample set to `fill`.
    public init(width: Int, height: Int, channels: Int, fill: UInt8 = 0) throws(ImagingError) {
        let count = try Image.sampleCount(width: width, height: height, channels: channels)
        self.init(uncheckedWidth: width, height: height, channels: channels,
                  pixels: [UInt8](repeating: fill, count: count))
    }

    /// For code in this module that has already established the shape.
    init(uncheckedWidth width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        assert(pixels.count == width * height * channels)
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// `width * height * channels`, validating each factor and overflow.
    static func sampleCount(width: Int, height: Int, channels: Int) throws(ImagingError) -> Int {
        guard width > 0, height > 0 else { throw .invalidArgument("image size \(width)x\(height) must be positive") }
        guard channels == 1 || channels == 3 || channels == 4 else {
            throw .invalidArgument("channels must be 1, 3 or 4, got \(channels)")
        }
        let (pixels, o1) = width.multipliedReportingOverflow(by: height)
        let (samples, o2) = pixels.multipliedReportingOverflow(by: channels)
        guard !o1, !o2 else { throw .invalidArgument("image size \(width)x\(height) overflows") }
        return samples
    }

    /// `width * height`.
    public var pixelCount: Int { width * height }

    /// True for RGBA.
    public var hasAlpha: Bool { channels == 4 }

    /// Sample `channel` of pixel `(x, y)`. Traps when out of range, like an array index.
    public subscript(x x: Int, y y: Int, channel channel: Int) -> UInt8 {
        get {
            precondition(x >= 0 && x < width && y >= 0 && y < height && channel >= 0 && channel < channels,
                         "pixel (\(x), \(y), \(channel)) outside \(width)x\(height)x\(channels)")
            return pixels[(y * width + x) * channels + channel]
        }
        set {
            precondition(x >= 0 && x < width && y >= 0 && y < height && channel >= 0 && channel < channels,
                         "pixel (\(x), \(y), \(channel)) outside \(width)x\(height)x\(channels)")
            pixels[(y * width + x) * channels + channel] = newValue
        }
    }

    /// All samples of pixel `(x, y)`, for tests and debugging (allocates; not for loops).
    public func pixel(x: Int, y: Int) -> [UInt8] {
        precondition(x >= 0 && x < width && y >= 0 && y < height, "pixel (\(x), \(y)) outside \(width)x\(height)")
        let start = (y * width + x) * channels
        return Array(pixels[start..<start + channels])
    }

    /// In-place access for fast loops; the buffer's size cannot change, so the shape holds.
    public mutating func withUnsafeMutablePixels<R, E: Error>(
        _ body: (UnsafeMutableBufferPointer<UInt8>) throws(E) -> R
    ) throws(E) -> R {
        var result: Result<R, E>?
        pixels.withUnsafeMutableBufferPointer { buffer in
            do throws(E) { result = .success(try body(buffer)) } catch { result = .failure(error) }
        }
        return try result!.get()
    }
}
