/// Everything that can go wrong decoding, encoding or converting an image.
///
/// The cases are deliberately coarse so a service can map them to a response without string
/// matching: `.empty`, `.unsupportedFormat` and `.corrupt` are the client's fault (HTTP 400 or
/// 415), `.tooLarge` is a policy refusal (413), `.invalidArgument` is a programming error.
public enum ImagingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The input had zero bytes.
    case empty
    /// The bytes are a format we recognise but do not decode (`"GIF"`, `"WebP"`, ...) or no
    /// known format at all (`"unknown (starts with 3C 68 74 6D)"`).
    case unsupportedFormat(String)
    /// The header declares more than `limit` pixels. Raised before any pixel memory is
    /// allocated, so a decompression bomb costs only a header parse.
    case tooLarge(width: Int, height: Int, limit: Int)
    /// The data is malformed, truncated or fails a checksum; `message` is libpng's or
    /// libjpeg's own explanation. (The rare allocation failure inside a codec is reported
    /// here too, with a message saying so.)
    case corrupt(format: ImageFormat, message: String)
    /// A caller passed something unusable: a non-positive size, a channel count other than
    /// 1, 3 or 4, a pixel array of the wrong length, a JPEG quality outside 1...100.
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .empty:
            return "empty image data"
        case .unsupportedFormat(let name):
            return "unsupported image format: \(name) (PNG and JPEG are supported)"
        case .tooLarge(let width, let height, let limit):
            return "image of \(width)x\(height) pixels exceeds the limit of \(limit) pixels"
        case .corrupt(let format, let message):
            return "corrupt \(format) data: \(message)"
        case .invalidArgument(let message):
            return "invalid argument: \(message)"
        }
    }
}
