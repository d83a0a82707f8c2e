import CSupport

/// The C decoders (vg_png_* and vg_jpeg_*) share one signature pair, so one Swift path drives
/// both: probe the header (the pixel limit is enforced there, before allocating), allocate
/// exactly `width * height * channels` bytes, decode into them, and turn a `vg_status` plus
/// the C error buffer into an `ImagingError`.
struct DecoderBridge: Sendable {
    typealias Probe = @convention(c) (
        UnsafePointer<UInt8>?, Int, UInt64, UnsafeMutablePointer<vg_image_info>?,
        UnsafeMutablePointer<CChar>?, Int
    ) -> vg_status
    typealias Decode = @convention(c) (
        UnsafePointer<UInt8>?, Int, UInt64, UnsafeMutablePointer<UInt8>?, Int,
        UnsafeMutablePointer<vg_image_info>?, UnsafeMutablePointer<CChar>?, Int
    ) -> vg_status

    let format: ImageFormat
    let probe: Probe
    let decode: Decode

    static let png = DecoderBridge(format: .png, probe: vg_png_probe, decode: vg_png_decode)
    static let jpeg = DecoderBridge(format: .jpeg, probe: vg_jpeg_probe, decode: vg_jpeg_decode)

    static func forFormat(_ format: ImageFormat) -> DecoderBridge {
        switch format {
        case .png: return .png
        case .jpeg: return .jpeg
        }
    }

    /// Reads the header only.
    func probe(_ bytes: UnsafeRawBufferPointer, maxPixels: Int) throws(ImagingError) -> vg_image_info {
        let data = bytes.bindMemory(to: UInt8.self)
        var info = vg_image_info()
        var message = ErrorBuffer()
        let status = message.withPointer { err, len in
            probe(data.baseAddress, data.count, UInt64(maxPixels), &info, err, len)
        }
        try check(status, info: info, maxPixels: maxPixels, message: message)
        return info
    }

    /// Decodes after a probe; the C side re-checks the header and the limit, so this cannot be
    /// tricked into writing past the buffer even if the two calls disagreed.
    func decode(_ bytes: UnsafeRawBufferPointer, maxPixels: Int) throws(ImagingError) -> Image {
        let header = try probe(bytes, maxPixels: maxPixels)
        let width = Int(header.width), height = Int(header.height), channels = Int(header.channels)
        let count = width * height * channels   // ≤ maxPixels * 4: no overflow
        let data = bytes.bindMemory(to: UInt8.self)
        var info = vg_image_info()
        var message = ErrorBuffer()
        var status = VG_OK
        let pixels = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            status = message.withPointer { err, len in
                decode(data.baseAddress, data.count, UInt64(maxPixels), buffer.baseAddress, count, &info, err, len)
            }
            initialized = status == VG_OK ? count : 0
        }
        try check(status, info: info, maxPixels: maxPixels, message: message)
        return Image(uncheckedWidth: width, height: height, channels: channels, pixels: pixels)
    }

    private func check(_ status: vg_status, info: vg_image_info, maxPixels: Int,
                       message: ErrorBuffer) throws(ImagingError) {
        switch status {
        case VG_OK:
            return
        case VG_TOO_LARGE:
            throw .tooLarge(width: Int(info.width), height: Int(info.height), limit: maxPixels)
        case VG_INVALID_ARG:
            throw .invalidArgument(message.string(or: "invalid argument to the \(format) decoder"))
        case VG_UNSUPPORTED:
            throw .unsupportedFormat(message.string(or: "unsupported \(format) variant"))
        case VG_NO_MEMORY:
            throw .corrupt(format: format, message: "out of memory: " + message.string(or: "allocation failed"))
        default:
            throw .corrupt(format: format, message: message.string(or: "undecodable data"))
        }
    }
}

/// A fixed C buffer for the codecs' error messages (VG_ERRBUF_SIZE bytes), on the stack.
struct ErrorBuffer {
    private var bytes = [CChar](repeating: 0, count: Int(VG_ERRBUF_SIZE))

    mutating func withPointer<R>(_ body: (UnsafeMutablePointer<CChar>, Int) -> R) -> R {
        bytes.withUnsafeMutableBufferPointer { body($0.baseAddress!, $0.count) }
    }

    /// The message, or `fallback` when the C side left it empty.
    func string(or fallback: String) -> String {
        let text = bytes.withUnsafeBufferPointer { buffer in
            let end = buffer.firstIndex(of: 0) ?? buffer.count
            return String(decoding: buffer[..<end].lazy.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return text.isEmpty ? fallback : text
    }
}
