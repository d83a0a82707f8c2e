/// The encoded formats this module decodes and encodes.
public enum ImageFormat: String, Sendable, CaseIterable, CustomStringConvertible {
    case png
    case jpeg

    /// The IANA media type, for `Content-Type` headers.
    public var mimeType: String {
        switch self {
        case .png: return "image/png"
        case .jpeg: return "image/jpeg"
        }
    }

    public var description: String {
        switch self {
        case .png: return "PNG"
        case .jpeg: return "JPEG"
        }
    }

    /// Identifies the format from its magic bytes, never from a file name or a client's
    /// `Content-Type`, which are not to be trusted.
    ///
    /// Formats that are common uploads but not supported (GIF, WebP, BMP, TIFF, AVIF/HEIF,
    /// JPEG XL, JPEG 2000, ICO, PSD) are named in the error, so the client learns what to send
    /// instead of reading "corrupt".
    public static func detect<Bytes: Collection<UInt8>>(_ bytes: Bytes) throws(ImagingError) -> ImageFormat {
        if bytes.isEmpty { throw .empty }
        let head = Array(bytes.prefix(16))
        if starts(head, [0x89, 0x50, 0x4E, 0x47]) { return .png }  // \x89PNG
        if starts(head, [0xFF, 0xD8, 0xFF]) { return .jpeg }        // SOI + first marker
        if let name = unsupportedName(head) { throw .unsupportedFormat(name) }
        let hex = head.prefix(4).map { byte in
            let digits = String(byte, radix: 16, uppercase: true)
            return byte < 16 ? "0" + digits : digits
        }.joined(separator: " ")
        throw .unsupportedFormat("unknown (starts with \(hex))")
    }

    private static func starts(_ head: [UInt8], _ magic: [UInt8], _ offset: Int = 0) -> Bool {
        head.count >= offset + magic.count && head[offset..<offset + magic.count].elementsEqual(magic)
    }

    private static func unsupportedName(_ head: [UInt8]) -> String? {
        func starts(_ magic: [UInt8], _ offset: Int) -> Bool { ImageFormat.starts(head, magic, offset) }
        func ascii(_ s: String, _ offset: Int) -> Bool { starts(Array(s.utf8), offset) }
        if ascii("GIF87a", 0) || ascii("GIF89a", 0) { return "GIF" }
        if ascii("RIFF", 0) && ascii("WEBP", 8) { return "WebP" }
        if ascii("BM", 0) { return "BMP" }
        if starts([0x49, 0x49, 0x2A, 0x00], 0) || starts([0x4D, 0x4D, 0x00, 0x2A], 0) { return "TIFF" }
        if ascii("ftypavif", 4) || ascii("ftypavis", 4) { return "AVIF" }
        if ascii("ftypheic", 4) || ascii("ftypheix", 4) || ascii("ftypmif1", 4) { return "HEIF" }
        if starts([0xFF, 0x0A], 0) || starts([0, 0, 0, 0x0C, 0x4A, 0x58, 0x4C, 0x20], 0) { return "JPEG XL" }
        if starts([0, 0, 0, 0x0C, 0x6A, 0x50, 0x20, 0x20], 0) || starts([0xFF, 0x4F, 0xFF, 0x51], 0) {
            return "JPEG 2000"
        }
        if starts([0, 0, 1, 0], 0) { return "ICO" }
        if ascii("8BPS", 0) { return "PSD" }
        return nil
    }
}
