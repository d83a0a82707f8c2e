import Testing
@testable import Imaging

@Suite struct EncodingTests {
    static func pattern(width: Int, height: Int, channels: Int) -> Image {
        Fixture.image(width: width, height: height, channels: channels) { x, y in
            (0..<channels).map { c in UInt8(truncatingIfNeeded: x * 31 + y * 17 + c * 101 + (x * y) % 7) }
        }
    }

    @Test(arguments: [1, 3, 4], [0, 6, 9])
    func pngRoundTrip_isExact(_ channels: Int, _ level: Int) throws {
        let image = Self.pattern(width: 29, height: 11, channels: channels)
        let data = try image.pngData(compressionLevel: level)
        #expect(try ImageFormat.detect(data) == .png)
        #expect(try ImageDecoder.decode(data) == image)
    }

    @Test func pngEncoder_rejectsBadLevel() {
        #expect(throws: ImagingError.invalidArgument("PNG compression level 10 is outside 0...9")) {
            try Self.pattern(width: 2, height: 2, channels: 3).pngData(compressionLevel: 10)
        }
    }

    @Test(arguments: [1, 3])
    func jpegRoundTrip_isWithinTolerance(_ channels: Int) throws {
        let smooth = Fixture.image(width: 40, height: 30, channels: channels) { x, y in
            (0..<channels).map { c in UInt8(x * 3 + y * 2 + c * 20) }   // smooth, no wrap-around
        }
        let data = try smooth.jpegData(quality: 95)
        let decoded = try ImageDecoder.decode(data)
        #expect(decoded.channels == channels && decoded.width == 40 && decoded.height == 30)
        let d = difference(decoded, smooth)
        #expect(d.mean < 2 && d.max < 16, "mean \(d.mean) max \(d.max)")
    }

    @Test func jpegQuality_tradesSizeForError() throws {
        let image = Fixture.image(width: 48, height: 48, channels: 3) { x, y in Fixture.jpegRGB(x % 32, y % 24) }
        let small = try image.jpegData(quality: 10), large = try image.jpegData(quality: 95)
        #expect(small.count < large.count)
        #expect(difference(try ImageDecoder.decode(small), image).mean > difference(try ImageDecoder.decode(large), image).mean)
    }

    /// Default settings reproduce Pillow's `save(f, "JPEG")`: same quality-75 tables, same 4:2:0
    /// layout and file size. The fixture came from a Pillow wheel bundling libjpeg-turbo 3.2,
    /// whose encoder rounds a few coefficients differently from the system's 2.1.5, so decoded
    /// pixels agree to within one level rather than exactly.
    @Test func jpegDefaults_matchPillow() throws {
        let source = Fixture.image(width: Fixture.jpegWidth, height: Fixture.jpegHeight, channels: 3) { x, y in
            Fixture.jpegRGB(x, y)
        }
        let data = try source.jpegData()
        let pillowData = try Fixture.bytes("pillow_default.jpg")
        #expect(data.count == pillowData.count)
        let ours = try ImageDecoder.decode(data)
        let pillow = try ImageDecoder.decode(pillowData)
        #expect(difference(ours, pillow).max <= 1)
    }

    @Test(arguments: [(JPEGChromaSubsampling.chroma420, UInt8(0x22)), (.chroma422, 0x21), (.chroma444, 0x11)])
    func jpegSubsampling_isWrittenToSOF(_ subsampling: JPEGChromaSubsampling, _ lumaFactors: UInt8) throws {
        let data = try Self.pattern(width: 16, height: 16, channels: 3).jpegData(subsampling: subsampling)
        let sof = try #require(data.indices.dropLast().first { data[$0] == 0xFF && data[$0 + 1] == 0xC0 })
        // SOF0: FF C0, length(2), precision(1), height(2), width(2), count(1), then id, HV, Tq.
        #expect(data[sof + 9] == 3)
        #expect(data[sof + 11] == lumaFactors)
    }

    @Test func jpegEncoder_rejectsAlphaAndBadQuality() throws {
        let rgba = Self.pattern(width: 4, height: 4, channels: 4)
        #expect(throws: ImagingError.self) { try rgba.jpegData() }
        let rgb = Self.pattern(width: 4, height: 4, channels: 3)
        #expect(throws: ImagingError.invalidArgument("JPEG quality 0 is outside 1...100")) { try rgb.jpegData(quality: 0) }
        #expect(throws: ImagingError.invalidArgument("JPEG quality 101 is outside 1...100")) { try rgb.jpegData(quality: 101) }
        #expect(try rgb.jpegData(quality: 1).count > 0)
        #expect(try rgb.jpegData(quality: 100).count > 0)
    }

    @Test func onePixelImages_roundTrip() throws {
        for channels in [1, 3, 4] {
            let image = try Image(width: 1, height: 1, channels: channels, fill: 200)
            #expect(try ImageDecoder.decode(try image.pngData()) == image)
        }
        let gray = try Image(width: 1, height: 1, channels: 1, fill: 200)
        #expect(try ImageDecoder.decode(try gray.jpegData(quality: 100)).pixels[0] == 200)
    }
}
