import Foundation
import Testing
@testable import Imaging

/// Hostile and broken uploads must become errors, never crashes, aborts or garbage.
@Suite struct MalformedInputTests {
    @Test(arguments: [
        ("corrupt_bad_crc.png", ImageFormat.png), ("corrupt_truncated.png", .png), ("corrupt_wrong_dims.png", .png),
        ("corrupt_huge_chunk.png", .png),
        ("corrupt_truncated.jpg", .jpeg), ("corrupt_bad_huffman.jpg", .jpeg), ("corrupt_wrong_dims.jpg", .jpeg),
    ])
    func corruptFile_throwsCorrupt(_ name: String, _ format: ImageFormat) throws {
        let error = decodeError(try Fixture.bytes(name))
        #expect(isCorrupt(error, format), "\(name): \(String(describing: error))")
    }

    @Test(arguments: ["bomb.png", "bomb.jpg"])
    func decompressionBomb_throwsTooLargeBeforeAllocating(_ name: String) throws {
        let bytes = try Fixture.bytes(name)
        let side = name.hasSuffix("png") ? 100_000 : 65_000
        var error: ImagingError?
        let elapsed = ContinuousClock().measure { error = decodeError(bytes) }
        #expect(error == .tooLarge(width: side, height: side, limit: ImageDecoder.defaultMaxPixels))
        // Allocating (let alone filling) gigabytes would take far longer than this.
        #expect(elapsed < .milliseconds(200))
        #expect(throws: ImagingError.tooLarge(width: side, height: side, limit: ImageDecoder.defaultMaxPixels)) {
            try ImageDecoder.probe(bytes)
        }
    }

    /// Regression (found by fuzzing): a tEXt chunk whose length field says 2 GB made libpng
    /// allocate and zero 2 GB before noticing the file was 200 bytes long.
    @Test func hugeChunkLength_isRejectedWithoutAllocating() throws {
        let bytes = try Fixture.bytes("corrupt_huge_chunk.png")
        var error: ImagingError?
        let elapsed = ContinuousClock().measure { error = decodeError(bytes) }
        #expect(error == .corrupt(format: .png, message: "chunk 'tEXt' declares 2147483632 bytes but only 172 remain (truncated)"))
        #expect(elapsed < .milliseconds(200))
    }

    /// A 1x1 PNG whose IDAT inflates to 10 MB: libpng would inflate all of it after the only
    /// row (CPU amplification ~1000x per uploaded byte); the pre-check refuses it.
    @Test func zlibBombAfterImageData_isRejected() throws {
        let bytes = try Fixture.bytes("zlib_bomb_idat.png")
        var error: ImagingError?
        let elapsed = ContinuousClock().measure { error = decodeError(bytes) }
        #expect(error == .corrupt(format: .png, message: "IDAT: compressed data expands beyond the 2 bytes the header implies (zlib bomb)"))
        #expect(elapsed < .milliseconds(200))
    }

    @Test(arguments: ["rgb8.png", "baseline_rgb.jpg"])
    func pixelLimit_isCallerConfigurable(_ name: String) throws {
        let bytes = try Fixture.bytes(name)
        let info = try ImageDecoder.probe(bytes)
        let exact = info.width * info.height
        #expect(try ImageDecoder.decode(bytes, maxPixels: exact).width == info.width)
        #expect(decodeError(bytes, maxPixels: exact - 1) == .tooLarge(width: info.width, height: info.height, limit: exact - 1))
        #expect(decodeError(bytes, maxPixels: 0) == .invalidArgument("maxPixels must be positive, got 0"))
    }

    /// Every strict prefix of a valid file is rejected: PNG reads through IEND, and any libjpeg
    /// warning (such as a missing EOI) is an error.
    @Test(arguments: [("rgb8.png", ImageFormat.png), ("interlaced_rgba8.png", .png), ("progressive_rgb.jpg", .jpeg)])
    func everyTruncation_throws(_ name: String, _ format: ImageFormat) throws {
        let bytes = try Fixture.bytes(name)
        for length in 1..<bytes.count {
            let error = decodeError(Array(bytes.prefix(length)))
            let ok: Bool
            switch error {
            case .corrupt(format, _)?: ok = true
            case .unsupportedFormat?: ok = length < 4        // too short to recognise
            default: ok = false
            }
            #expect(ok, "prefix of \(length) bytes: \(String(describing: error))")
        }
    }

    /// Flipping any single byte must not crash (it may still decode: a flipped pixel byte in a
    /// JPEG is just different pixels).
    @Test(arguments: ["rgb8.png", "palette4_trns.png", "baseline_rgb.jpg", "cmyk_adobe.jpg"])
    func singleByteCorruption_neverCrashes(_ name: String) throws {
        let bytes = try Fixture.bytes(name)
        for i in bytes.indices {
            var damaged = bytes
            damaged[i] ^= 0xFF
            _ = decodeError(damaged)
        }
    }

    @Test func emptyInput_throwsEmpty() {
        #expect(decodeError([]) == .empty)
        #expect(throws: ImagingError.empty) { try ImageDecoder.decode(Data()) }
    }

    @Test(arguments: [
        (Array("GIF89a\u{1}\u{0}\u{1}\u{0}".utf8), "GIF"),
        (Array("RIFF\u{24}\u{0}\u{0}\u{0}WEBPVP8 ".utf8), "WebP"),
        (Array("BM\u{3a}\u{0}\u{0}\u{0}".utf8), "BMP"),
        ([0x49, 0x49, 0x2A, 0x00, 0x08, 0, 0, 0], "TIFF"),
        ([0, 0, 0, 0x1C] + Array("ftypavif".utf8), "AVIF"),
        (Array("<html>".utf8), "unknown (starts with 3C 68 74 6D)"),
    ])
    func unsupportedFormat_isNamed(_ bytes: [UInt8], _ name: String) {
        #expect(decodeError(bytes) == .unsupportedFormat(name))
    }

    /// Issue #16, defect 7: arithmetic decoding treats a marker inside the scan as the end of
    /// the data and fills the rest with zero bits, without a warning, so a cut arithmetic-coded
    /// file looks whole (`arith_declared_4096.jpg` decoded as a 4096x4096 grey image). Such files
    /// are refused from the header, complete or not, sequential (SOF9) or progressive (SOF10).
    @Test(arguments: ["arith_declared_4096.jpg", "arith_sof9.jpg", "arith_sof10.jpg"])
    func arithmeticCodedJPEG_isRefusedFromTheHeader(_ name: String) throws {
        let bytes = try Fixture.bytes(name)
        let sof = name == "arith_sof10.jpg" ? 10 : 9
        let expected = ImagingError.unsupportedFormat(
            "arithmetic-coded JPEG (SOF\(sof)), whose truncation cannot be detected; re-encode it with Huffman coding")
        #expect(decodeError(bytes) == expected)
        #expect(throws: expected) { try ImageDecoder.probe(bytes) }
    }

    @Test func pngSignatureAlone_throwsCorrupt() {
        #expect(isCorrupt(decodeError([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]), .png))
        #expect(isCorrupt(decodeError([0xFF, 0xD8, 0xFF, 0xE0]), .jpeg))
    }

    @Test func errorDescriptions_areReadable() {
        #expect(ImagingError.tooLarge(width: 100_000, height: 100_000, limit: 16_777_216).description
                == "image of 100000x100000 pixels exceeds the limit of 16777216 pixels")
        #expect(ImagingError.unsupportedFormat("GIF").description == "unsupported image format: GIF (PNG and JPEG are supported)")
        #expect(ImagingError.corrupt(format: .png, message: "CRC error").description == "corrupt PNG data: CRC error")
        #expect(ImagingError.empty.description == "empty image data")
    }

    @Test func corruptMessage_comesFromTheLibrary() throws {
        guard case .corrupt(_, let message)? = decodeError(try Fixture.bytes("corrupt_bad_huffman.jpg")) else {
            Issue.record("expected corrupt")
            return
        }
        #expect(message.localizedCaseInsensitiveContains("huffman"), "\(message)")
        let truncated = decodeError(try Fixture.bytes("corrupt_truncated.jpg"))
        #expect(truncated == .corrupt(format: .jpeg, message: "damaged or truncated JPEG data: Premature end of JPEG file"))
        let crc = decodeError(try Fixture.bytes("corrupt_bad_crc.png"))
        #expect(crc == .corrupt(format: .png, message: "IDAT: CRC error"))
    }
}
