import Foundation
import Testing
@testable import Imaging

/// Fixture files and the pixel patterns they were generated from. The patterns mirror
/// Fixtures/make_fixtures.sh exactly; change both together.
enum Fixture {
    /// Located from this source file, so the test target needs no resource declaration.
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    // PNG fixtures are W x H with these patterns.
    static let width = 13, height = 7

    static func gray8(_ x: Int, _ y: Int) -> UInt8 { UInt8((x * 19 + y * 37) & 255) }
    static func alpha8(_ x: Int, _ y: Int) -> UInt8 { UInt8((x * 40 + y * 11) & 255) }
    static func rgb8(_ x: Int, _ y: Int) -> [UInt8] {
        let r: Int = (x * 19 + y * 37) & 255
        let g: Int = (x * 53 + 7) & 255
        let b: Int = (y * 61 + x * 3) & 255
        return [UInt8(r), UInt8(g), UInt8(b)]
    }
    /// A `bits`-deep gray level scaled to 8 bits, as libpng expands it.
    static func level(_ x: Int, _ y: Int, bits: Int) -> UInt8 {
        let maxLevel = (1 << bits) - 1
        return UInt8(((x + 2 * y) % (1 << bits)) * 255 / maxLevel)
    }
    static let palette: [[UInt8]] = (0..<8).map { (i: Int) -> [UInt8] in
        let r: Int = i * 30, g: Int = 255 - i * 30, b: Int = i * 17
        return [UInt8(r), UInt8(g), UInt8(b)]
    }
    static let paletteAlpha: [UInt8] = [0, 64, 128, 192]
    static func paletteIndex(_ x: Int, _ y: Int) -> Int { (x + y) % 8 }
    static var grayKey: UInt8 { gray8(3, 2) }
    static var rgbKey: [UInt8] { rgb8(5, 1) }

    // JPEG fixtures (32 x 24) are smooth gradients.
    static let jpegWidth = 32, jpegHeight = 24
    static func jpegRGB(_ x: Int, _ y: Int) -> [UInt8] {
        let r: Int = x * 255 / (jpegWidth - 1)
        let g: Int = y * 255 / (jpegHeight - 1)
        let b: Int = (x + y) * 255 / (jpegWidth + jpegHeight - 2)
        return [UInt8(r), UInt8(g), UInt8(b)]
    }
    static func jpegGray(_ x: Int, _ y: Int) -> UInt8 {
        UInt8((x * 5 + y * 3) * 255 / ((jpegWidth - 1) * 5 + (jpegHeight - 1) * 3))
    }

    /// Builds an image from a per-pixel function.
    static func image(width: Int = width, height: Int = height, channels: Int,
                      _ pixel: (Int, Int) -> [UInt8]) -> Image {
        var samples: [UInt8] = []
        samples.reserveCapacity(width * height * channels)
        for y in 0..<height { for x in 0..<width { samples += pixel(x, y) } }
        return try! Image(width: width, height: height, channels: channels, pixels: samples)
    }
}

/// Decodes and returns the error, for `#expect` on typed-throw results.
func decodeError(_ bytes: [UInt8], maxPixels: Int = ImageDecoder.defaultMaxPixels) -> ImagingError? {
    do {
        _ = try ImageDecoder.decode(bytes, maxPixels: maxPixels)
        return nil
    } catch {
        return error
    }
}

func isCorrupt(_ error: ImagingError?, _ format: ImageFormat) -> Bool {
    if case .corrupt(format, _)? = error { return true }
    return false
}

/// Equality with a useful message: the first differing sample rather than two arrays.
func expectSamePixels(_ actual: Image, _ expected: Image, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.width == expected.width && actual.height == expected.height
            && actual.channels == expected.channels,
            "shape \(actual.width)x\(actual.height)x\(actual.channels), expected \(expected.width)x\(expected.height)x\(expected.channels)",
            sourceLocation: sourceLocation)
    guard actual.pixels.count == expected.pixels.count else { return }
    if let i = actual.pixels.indices.first(where: { actual.pixels[$0] != expected.pixels[$0] }) {
        let p = i / actual.channels
        Issue.record("first difference at x=\(p % actual.width) y=\(p / actual.width) channel \(i % actual.channels): \(actual.pixels[i]) vs expected \(expected.pixels[i])",
                     sourceLocation: sourceLocation)
    }
}

/// Mean and maximum absolute sample difference (lossy comparisons).
func difference(_ a: Image, _ b: Image) -> (mean: Double, max: Int) {
    precondition(a.pixels.count == b.pixels.count)
    var sum = 0, worst = 0
    for (x, y) in zip(a.pixels, b.pixels) {
        let d = abs(Int(x) - Int(y))
        sum += d
        worst = max(worst, d)
    }
    return (Double(sum) / Double(a.pixels.count), worst)
}
