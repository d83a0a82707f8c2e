import Foundation
import Testing
@testable import Imaging

/// Every PNG colour type and bit depth decodes to the pattern it was written from.
@Suite struct PNGDecodingTests {
    typealias F = Fixture

    static func expected(_ name: String) -> Image {
        switch name {
        case "gray1.png": return F.image(channels: 1) { x, y in [F.level(x, y, bits: 1)] }
        case "gray2.png", "interlaced_gray2.png": return F.image(channels: 1) { x, y in [F.level(x, y, bits: 2)] }
        case "gray4.png": return F.image(channels: 1) { x, y in [F.level(x, y, bits: 4)] }
        case "gray8.png", "gray16.png": return F.image(channels: 1) { x, y in [F.gray8(x, y)] }
        case "gray_trns.png":
            return F.image(channels: 4) { x, y in
                let g = F.gray8(x, y)
                return [g, g, g, g == F.grayKey ? 0 : 255]
            }
        case "gray_alpha8.png", "gray_alpha16.png":
            return F.image(channels: 4) { x, y in
                let g = F.gray8(x, y)
                return [g, g, g, F.alpha8(x, y)]
            }
        case "rgb8.png", "rgb16.png": return F.image(channels: 3) { x, y in F.rgb8(x, y) }
        case "rgb_trns.png":
            return F.image(channels: 4) { x, y in
                let c = F.rgb8(x, y)
                return c + [c == F.rgbKey ? 0 : 255]
            }
        case "rgba8.png", "rgba16.png", "interlaced_rgba8.png":
            return F.image(channels: 4) { x, y in F.rgb8(x, y) + [F.alpha8(x, y)] }
        case "palette4.png", "palette8.png":
            return F.image(channels: 3) { x, y in F.palette[F.paletteIndex(x, y)] }
        case "palette4_trns.png":
            return F.image(channels: 4) { x, y in
                let i = F.paletteIndex(x, y)
                return F.palette[i] + [i < F.paletteAlpha.count ? F.paletteAlpha[i] : 255]
            }
        default: fatalError("no expectation for \(name)")
        }
    }

    @Test(arguments: [
        "gray1.png", "gray2.png", "gray4.png", "gray8.png", "gray16.png", "gray_trns.png",
        "gray_alpha8.png", "gray_alpha16.png", "rgb8.png", "rgb16.png", "rgb_trns.png",
        "rgba8.png", "rgba16.png", "palette4.png", "palette8.png", "palette4_trns.png",
        "interlaced_rgba8.png", "interlaced_gray2.png",
    ])
    func pngVariant_decodesToExpectedPixels(_ name: String) throws {
        let image = try ImageDecoder.decode(try Fixture.bytes(name))
        expectSamePixels(image, Self.expected(name))
    }

    @Test func palettePNG_decodesToRGB() throws {
        let image = try ImageDecoder.decode(try Fixture.bytes("palette4.png"))
        #expect(image.channels == 3)
        #expect(image.pixel(x: 3, y: 2) == [150, 105, 85])   // palette entry 5
    }

    @Test func paletteWithTRNS_decodesToRGBA() throws {
        let image = try ImageDecoder.decode(try Fixture.bytes("palette4_trns.png"))
        #expect(image.channels == 4)
        #expect(image.pixel(x: 0, y: 0) == [0, 255, 0, 0])          // entry 0, alpha 0
        #expect(image.pixel(x: 1, y: 1) == [60, 195, 34, 128])      // entry 2, alpha 128
        #expect(image.pixel(x: 6, y: 0) == [180, 75, 102, 255])     // entry 6, no tRNS entry: opaque
    }

    @Test func gray16PNG_scalesToEightBitsWithRounding() throws {
        let image = try ImageDecoder.decode(try Fixture.bytes("gray16.png"))
        #expect(image.channels == 1)
        #expect(image[x: 12, y: 6, channel: 0] == Fixture.gray8(12, 6))
    }

    @Test func grayAlphaPNG_expandsToRGBA() throws {
        let image = try ImageDecoder.decode(try Fixture.bytes("gray_alpha8.png"))
        #expect(image.channels == 4)
        let g = Fixture.gray8(4, 3)
        #expect(image.pixel(x: 4, y: 3) == [g, g, g, Fixture.alpha8(4, 3)])
    }

    @Test func interlacedPNG_matchesNonInterlaced() throws {
        let interlaced = try ImageDecoder.decode(try Fixture.bytes("interlaced_rgba8.png"))
        let plain = try ImageDecoder.decode(try Fixture.bytes("rgba8.png"))
        #expect(interlaced == plain)
        #expect(try ImageDecoder.probe(try Fixture.bytes("interlaced_rgba8.png")).isInterlaced)
    }

    @Test func probe_reportsHeaderWithoutDecoding() throws {
        let info = try ImageDecoder.probe(try Fixture.bytes("gray_trns.png"))
        #expect(info == ImageInfo(format: .png, width: 13, height: 7, channels: 4, isInterlaced: false))
    }

    @Test func decodeFromData_matchesArray() throws {
        let bytes = try Fixture.bytes("rgb8.png")
        #expect(try ImageDecoder.decode(Data(bytes)) == ImageDecoder.decode(bytes))
    }
}
