import Testing
@testable import Imaging

@Suite struct JPEGDecodingTests {
    typealias F = Fixture
    static let gradient = F.image(width: F.jpegWidth, height: F.jpegHeight, channels: 3) { x, y in F.jpegRGB(x, y) }

    @Test func baselineJPEG_decodesCloseToSource() throws {
        let image = try ImageDecoder.decode(try F.bytes("baseline_rgb.jpg"))
        #expect(image.width == 32 && image.height == 24 && image.channels == 3)
        let d = difference(image, Self.gradient)
        #expect(d.mean < 2.5 && d.max < 20, "mean \(d.mean) max \(d.max)")
    }

    @Test func progressiveJPEG_decodesToSamePixelsAsBaseline() throws {
        // Same quantised coefficients in a different scan order: identical output.
        let progressive = try ImageDecoder.decode(try F.bytes("progressive_rgb.jpg"))
        let baseline = try ImageDecoder.decode(try F.bytes("baseline_rgb.jpg"))
        #expect(progressive == baseline)
        #expect(try ImageDecoder.probe(try F.bytes("progressive_rgb.jpg")).isInterlaced)
        #expect(try !ImageDecoder.probe(try F.bytes("baseline_rgb.jpg")).isInterlaced)
    }

    @Test func grayscaleJPEG_decodesToOneChannel() throws {
        let image = try ImageDecoder.decode(try F.bytes("gray.jpg"))
        #expect(image.channels == 1)
        let expected = F.image(width: F.jpegWidth, height: F.jpegHeight, channels: 1) { x, y in [F.jpegGray(x, y)] }
        let d = difference(image, expected)
        #expect(d.mean < 1.5 && d.max < 10, "mean \(d.mean) max \(d.max)")
    }

    /// Quadrant inks (C, M, Y, K) -> RGB = (255-C)(255-K)/255, ...
    static let cmykQuadrants: [(x: Int, y: Int, rgb: [Int])] = [
        (8, 8, [0, 255, 255]),      // cyan
        (24, 8, [255, 0, 255]),     // magenta
        (8, 24, [127, 127, 127]),   // K = 128
        (24, 24, [191, 95, 0]),     // M = 128, Y = 255, K = 64
    ]

    @Test(arguments: ["cmyk_adobe.jpg", "cmyk_plain.jpg", "ycck_adobe.jpg"])
    func cmykJPEG_convertsToRGB(_ name: String) throws {
        let image = try ImageDecoder.decode(try F.bytes(name))
        #expect(image.width == 32 && image.height == 32 && image.channels == 3)
        for q in Self.cmykQuadrants {
            let got = image.pixel(x: q.x, y: q.y).map(Int.init)
            #expect(zip(got, q.rgb).allSatisfy { abs($0 - $1) <= 4 }, "\(name) at (\(q.x), \(q.y)): \(got) vs \(q.rgb)")
        }
    }
}
