import CSupport

/// Lossless PNG output (8-bit gray, RGB or RGBA, non-interlaced), e.g. for returning a purified
/// image or storing fixtures. Decoding the result gives back exactly the same pixels.
public enum PNGEncoder {
    /// zlib level 6: libpng's default, close to level 9's size at a fraction of the time.
    public static let defaultCompressionLevel = 6

    /// Encodes `image`; `compressionLevel` is zlib's 0 (store) ... 9 (smallest).
    public static func encode(_ image: Image,
                              compressionLevel: Int = defaultCompressionLevel) throws(ImagingError) -> [UInt8] {
        guard (0...9).contains(compressionLevel) else {
            throw .invalidArgument("PNG compression level \(compressionLevel) is outside 0...9")
        }
        guard image.width <= Int(Int32.max), image.height <= Int(Int32.max) else {
            throw .invalidArgument("image of \(image.width)x\(image.height) is too large for PNG")
        }
        var output: UnsafeMutablePointer<UInt8>?
        var length = 0
        var message = ErrorBuffer()
        let status = image.pixels.withUnsafeBufferPointer { pixels in
            message.withPointer { err, len in
                vg_png_encode(pixels.baseAddress, UInt32(image.width), UInt32(image.height),
                              Int32(image.channels), Int32(compressionLevel), &output, &length, err, len)
            }
        }
        defer { vg_free(output) }
        switch status {
        case VG_OK:
            guard let output else { return [] }
            return Array(UnsafeBufferPointer(start: output, count: length))
        case VG_INVALID_ARG:
            throw .invalidArgument(message.string(or: "PNG encoder rejected the image"))
        default:
            throw .corrupt(format: .png, message: message.string(or: "PNG encoding failed"))
        }
    }
}

extension Image {
    /// This image as a PNG file. See `PNGEncoder.encode`.
    public func pngData(compressionLevel: Int = PNGEncoder.defaultCompressionLevel) throws(ImagingError) -> [UInt8] {
        try PNGEncoder.encode(self, compressionLevel: compressionLevel)
    }
}
