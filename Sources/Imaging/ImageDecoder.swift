#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What a header says about an image, without decoding it.
public struct ImageInfo: Sendable, Equatable {
    public let format: ImageFormat
    public let width: Int
    public let height: Int
    /// Channels `decode` will return: 1, 3 or 4.
    public let channels: Int
    /// Adam7 PNG or progressive JPEG.
    public let isInterlaced: Bool
}

/// Decodes PNG and JPEG uploads into `Image`s, safely: the format comes from the magic bytes,
/// the header's dimensions are checked against `maxPixels` before any pixel memory exists,
/// and any malformed, truncated or checksum-failing input becomes an `ImagingError`.
///
/// PNG: every colour type and bit depth (1/2/4/8/16-bit gray, gray+alpha, RGB, RGBA, palette,
/// tRNS transparency, Adam7); 16-bit samples are scaled to 8 bits with rounding; gray+alpha
/// and anything with tRNS becomes RGBA. No gamma or ICC correction is applied.
/// JPEG: baseline, progressive, grayscale (1 channel), RGB/YCbCr and CMYK/YCCK (converted to
/// RGB). libjpeg warnings, such as a truncated file, are errors.
public enum ImageDecoder {
    /// 4096 x 4096 (16.8 megapixels, 67 MB as RGBA): far above anything the models consume
    /// (images are resized down to the model input) but small enough that a burst of
    /// concurrent uploads cannot exhaust memory.
    public static let defaultMaxPixels = 4096 * 4096

    /// Format, size and channel count from the header alone.
    public static func probe(_ bytes: UnsafeRawBufferPointer,
                             maxPixels: Int = defaultMaxPixels) throws(ImagingError) -> ImageInfo {
        let format = try validate(bytes, maxPixels: maxPixels)
        let info = try DecoderBridge.forFormat(format).probe(bytes, maxPixels: maxPixels)
        return ImageInfo(format: format, width: Int(info.width), height: Int(info.height),
                         channels: Int(info.channels), isInterlaced: info.interlaced != 0)
    }

    /// Format, size and channel count from the header alone.
    public static func probe(_ bytes: [UInt8], maxPixels: Int = defaultMaxPixels) throws(ImagingError) -> ImageInfo {
        try withRawBytes(bytes) { (raw) throws(ImagingError) in try probe(raw, maxPixels: maxPixels) }
    }

    /// Decodes a PNG or JPEG held in raw memory.
    public static func decode(_ bytes: UnsafeRawBufferPointer,
                              maxPixels: Int = defaultMaxPixels) throws(ImagingError) -> Image {
        let format = try validate(bytes, maxPixels: maxPixels)
        return try DecoderBridge.forFormat(format).decode(bytes, maxPixels: maxPixels)
    }

    /// Decodes a PNG or JPEG.
    public static func decode(_ bytes: [UInt8], maxPixels: Int = defaultMaxPixels) throws(ImagingError) -> Image {
        try withRawBytes(bytes) { (raw) throws(ImagingError) in try decode(raw, maxPixels: maxPixels) }
    }

    /// Decodes a PNG or JPEG.
    public static func decode(_ data: Data, maxPixels: Int = defaultMaxPixels) throws(ImagingError) -> Image {
        var result: Result<Image, ImagingError> = .failure(.empty)
        data.withUnsafeBytes { raw in
            do throws(ImagingError) { result = .success(try decode(raw, maxPixels: maxPixels)) } catch {
                result = .failure(error)
            }
        }
        return try result.get()
    }

    private static func validate(_ bytes: UnsafeRawBufferPointer, maxPixels: Int) throws(ImagingError) -> ImageFormat {
        guard maxPixels > 0 else { throw .invalidArgument("maxPixels must be positive, got \(maxPixels)") }
        return try ImageFormat.detect(bytes)
    }

    private static func withRawBytes<R>(
        _ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(ImagingError) -> R
    ) throws(ImagingError) -> R {
        var result: Result<R, ImagingError>?
        bytes.withUnsafeBytes { raw in
            do throws(ImagingError) { result = .success(try body(raw)) } catch { result = .failure(error) }
        }
        return try result!.get()
    }
}
