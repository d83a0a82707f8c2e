import Testing
@testable import Imaging

@Suite struct ConversionTests {
    static let allGrays = try! Image(width: 256, height: 1, channels: 1, pixels: (0...255).map(UInt8.init))

    @Test func grayToRGBToGray_isIdentity() {
        let rgb = Self.allGrays.rgb()
        #expect(rgb.channels == 3)
        #expect(rgb.pixel(x: 77, y: 0) == [77, 77, 77])
        #expect(rgb.grayscale() == Self.allGrays)
        #expect(Self.allGrays.rgba().grayscale() == Self.allGrays)
    }

    @Test func luma_usesBT601LikePillow() throws {
        let image = try Image(width: 4, height: 1, channels: 3,
                              pixels: [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 200, 30])
        // Pillow: Image.new("RGB", (1, 1), c).convert("L") gives 76, 150, 29 and 124.
        #expect(image.grayscale().pixels == [76, 150, 29, 124])
    }

    @Test func alphaCompositing_followsFormula() throws {
        var samples: [UInt8] = []
        for a in 0...255 { for c: UInt8 in [0, 1, 77, 128, 254, 255] { samples += [c, c, c, UInt8(a)] } }
        let rgba = try Image(width: samples.count / 4, height: 1, channels: 4, pixels: samples)
        let background = RGBColor(red: 255, green: 0, blue: 40)
        let rgb = rgba.removingAlpha(background: background)
        #expect(rgb.channels == 3)
        for p in 0..<rgba.pixelCount {
            let c = Double(samples[4 * p]), a = Double(samples[4 * p + 3])
            for (k, bg) in [255.0, 0, 40].enumerated() {
                let expected = UInt8(((a * c + (255 - a) * bg) / 255).rounded())
                #expect(rgb.pixels[3 * p + k] == expected, "c \(c) a \(a) bg \(bg)")
            }
        }
    }

    @Test func removingAlpha_defaultsToWhite() throws {
        let image = try Image(width: 2, height: 1, channels: 4, pixels: [10, 20, 30, 0, 10, 20, 30, 255])
        #expect(image.removingAlpha().pixels == [255, 255, 255, 10, 20, 30])
        #expect(image.removingAlpha(background: .black).pixels == [0, 0, 0, 10, 20, 30])
        #expect(image.grayscale().pixels == [255, Image.luma(10, 20, 30)])
    }

    @Test func rgba_addsOpaqueAlpha() throws {
        let rgb = try Image(width: 1, height: 2, channels: 3, pixels: [1, 2, 3, 4, 5, 6])
        #expect(rgb.rgba().pixels == [1, 2, 3, 255, 4, 5, 6, 255])
        #expect(try rgb.converted(toChannels: 4) == rgb.rgba())
        #expect(try rgb.converted(toChannels: 3) == rgb)
        #expect(throws: ImagingError.invalidArgument("channels must be 1, 3 or 4, got 2")) {
            try rgb.converted(toChannels: 2)
        }
    }

    @Test func floatPixels_roundTripExactly() throws {
        let image = EncodingTests.pattern(width: 7, height: 5, channels: 3)
        let floats = image.floatPixels()
        #expect(floats.count == image.pixels.count)
        #expect(floats.allSatisfy { (0...1).contains($0) })
        #expect(floats[4] == Float(image.pixels[4]) / 255)
        #expect(try Image(width: 7, height: 5, channels: 3, floats: floats) == image)
    }

    @Test func floatsToImage_roundsAndClamps() throws {
        let image = try Image(width: 7, height: 1, channels: 1,
                              floats: [-0.5, 0, 0.5, 1, 1.7, .nan, 0.001_96])
        // 0.5 * 255 = 127.5 rounds up; 0.00196 * 255 = 0.4998 rounds down.
        #expect(image.pixels == [0, 0, 128, 255, 255, 0, 0])
        #expect(throws: ImagingError.self) { try Image(width: 2, height: 2, channels: 1, floats: [0, 0, 0]) }
    }

    @Test func chwLayout_isPlanar() throws {
        let image = try Image(width: 2, height: 1, channels: 3, pixels: [0, 51, 102, 153, 204, 255])
        let chw = image.floatPixels(layout: .chw)
        #expect(chw == [0, 153, 51, 204, 102, 255].map { Float($0) / 255 })
        #expect(try Image(width: 2, height: 1, channels: 3, floats: chw, layout: .chw) == image)
    }

    @Test func imageInit_validatesShape() {
        #expect(throws: ImagingError.self) { try Image(width: 2, height: 2, channels: 3, pixels: [0]) }
        #expect(throws: ImagingError.self) { try Image(width: 0, height: 2, channels: 3) }
        #expect(throws: ImagingError.self) { try Image(width: 2, height: 2, channels: 2) }
        #expect(throws: ImagingError.self) { try Image(width: Int.max, height: 2, channels: 3) }
    }

    @Test func subscriptAndMutation_addressHWC() throws {
        var image = try Image(width: 3, height: 2, channels: 3)
        image[x: 2, y: 1, channel: 1] = 9
        #expect(image.pixels[(1 * 3 + 2) * 3 + 1] == 9)
        image.withUnsafeMutablePixels { $0[0] = 4 }
        #expect(image[x: 0, y: 0, channel: 0] == 4)
    }
}
