import CSupport

/// How much colour resolution JPEG keeps relative to luma.
public enum JPEGChromaSubsampling: Sendable, CaseIterable {
    /// 4:4:4: full-resolution chroma.
    case chroma444
    /// 4:2:2: half horizontal chroma resolution.
    case chroma422
    /// 4:2:0: half horizontal and vertical chroma resolution. Pillow's default for
    /// `Image.save(..., "JPEG")` and so the setting the paper's JPEG-compression baseline used.
    case chroma420

    var cValue: vg_jpeg_subsampling {
        switch self {
        case .chroma444: return VG_JPEG_SUBSAMP_444
        case .chroma422: return VG_JPEG_SUBSAMP_422
        case .chroma420: return VG_JPEG_SUBSAMP_420
        }
    }
}

/// Lossy JPEG output through TurboJPEG, for gray and RGB images. With the defaults (quality 75,
/// 4:2:0, standard Huffman tables, accurate integer DCT) it matches `PIL.Image.save(f, "JPEG")`,
/// which is what the JPEG-compression defence baseline is defined by.
public enum JPEGEncoder {
    /// Pillow's default quality.
    public static let defaultQuality = 75

    /// Encodes a 1- or 3-channel image. RGBA is refused rather than silently losing alpha:
    /// call `removingAlpha(background:)` first to choose the background.
    public static func encode(_ image: Image, quality: Int = defaultQuality,
                              subsampling: JPEGChromaSubsampling = .chroma420) throws(ImagingError) -> [UInt8] {
        guard (1...100).contains(quality) else {
            throw .invalidArgument("JPEG quality \(quality) is outside 1...100")
        }
        guard image.channels != 4 else {
            throw .invalidArgument("JPEG has no alpha channel; composite the RGBA image with removingAlpha(background:) first")
        }
        guard image.width <= 65_500, image.height <= 65_500 else {
            throw .invalidArgument("image of \(image.width)x\(image.height) exceeds JPEG's 65500-pixel side limit")
        }
        let capacity = vg_jpeg_max_size(UInt32(image.width), UInt32(image.height), Int32(image.channels),
                                        subsampling.cValue)
        guard capacity > 0 else { throw .invalidArgument("cannot size a JPEG buffer for \(image.width)x\(image.height)") }
        var message = ErrorBuffer()
        var status = VG_OK
        var output = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, initialized in
            var length = 0
            status = image.pixels.withUnsafeBufferPointer { pixels in
                message.withPointer { err, len in
                    vg_jpeg_encode(pixels.baseAddress, UInt32(image.width), UInt32(image.height),
                                   Int32(image.channels), Int32(quality), subsampling.cValue,
                                   buffer.baseAddress, capacity, &length, err, len)
                }
            }
            initialized = status == VG_OK ? length : 0
        }
        switch status {
        case VG_OK:
            output.shrinkToFit()
            return output
        case VG_INVALID_ARG:
            throw .invalidArgument(message.string(or: "JPEG encoder rejected the image"))
        default:
            throw .corrupt(format: .jpeg, message: message.string(or: "JPEG encoding failed"))
        }
    }
}

extension Image {
    /// This image as a JPEG file. See `JPEGEncoder.encode`.
    public func jpegData(quality: Int = JPEGEncoder.defaultQuality,
                        subsampling: JPEGChromaSubsampling = .chroma420) throws(ImagingError) -> [UInt8] {
        try JPEGEncoder.encode(self, quality: quality, subsampling: subsampling)
    }
}

private extension Array where Element == UInt8 {
    /// The worst-case buffer (tjBufSize) is several times the typical output; copy down so a
    /// cached or queued JPEG does not pin that memory.
    mutating func shrinkToFit() {
        if capacity > count + count / 4 + 1024 { self = withUnsafeBufferPointer { Array($0) } }
    }
}
