import Testing
@testable import Imaging

@Suite struct ResizeTests {
    @Test func areaDownscale_ofTwoByTwoBlocks_isTheMean() throws {
        // 4x4 gray made of 2x2 blocks; each output pixel is its block's mean.
        let image = try Image(width: 4, height: 4, channels: 1, pixels: [
            10, 20, 100, 100,
            30, 40, 100, 100,
            0, 0, 255, 253,
            4, 8, 251, 249,
        ])
        let small = try image.resized(width: 2, height: 2)
        #expect(small.pixels == [25, 100, 3, 252])
    }

    @Test func areaDownscale_weighsPartialPixels() throws {
        // 3 -> 2: output 0 covers source [0, 1.5): (0 * 1 + 90 * 0.5) / 1.5 = 30.
        let row = try Image(width: 3, height: 1, channels: 1, pixels: [0, 90, 180])
        #expect(try row.resized(width: 2, height: 1).pixels == [30, 150])
    }

    @Test func bilinearUpscale_samplesPixelCentres() throws {
        let row = try Image(width: 2, height: 1, channels: 1, pixels: [0, 100])
        #expect(try row.resized(width: 4, height: 1).pixels == [0, 25, 75, 100])
        let column = try Image(width: 1, height: 2, channels: 3, pixels: [0, 0, 0, 200, 100, 40])
        #expect(try column.resized(width: 1, height: 4).pixels == [0, 0, 0, 50, 25, 10, 150, 75, 30, 200, 100, 40])
    }

    @Test(arguments: [(5, 3), (40, 20), (13, 1), (1, 7), (26, 3), (2, 14)])
    func constantImage_staysConstant(_ width: Int, _ height: Int) throws {
        let image = try Image(width: 13, height: 7, channels: 4, fill: 173)
        let resized = try image.resized(width: width, height: height)
        #expect(resized.width == width && resized.height == height && resized.channels == 4)
        #expect(resized.pixels.allSatisfy { $0 == 173 })
    }

    @Test func sameSize_isUnchanged() throws {
        let image = EncodingTests.pattern(width: 9, height: 4, channels: 3)
        #expect(try image.resized(width: 9, height: 4) == image)
    }

    @Test func downscaleByIntegerFactor_matchesBoxMean() throws {
        let image = EncodingTests.pattern(width: 12, height: 8, channels: 3)
        let small = try image.resized(width: 4, height: 2)
        for y in 0..<2 {
            for x in 0..<4 {
                for c in 0..<3 {
                    var sum = 0
                    for dy in 0..<4 { for dx in 0..<3 { sum += Int(image[x: x * 3 + dx, y: y * 4 + dy, channel: c]) } }
                    let mean = (Double(sum) / 12).rounded()
                    #expect(abs(Double(small[x: x, y: y, channel: c]) - mean) <= 0.5 + 1e-9)
                }
            }
        }
    }

    @Test func invalidSize_throws() throws {
        let image = try Image(width: 2, height: 2, channels: 1)
        #expect(throws: ImagingError.self) { try image.resized(width: 0, height: 2) }
        #expect(throws: ImagingError.self) { try image.resized(width: 2, height: -1) }
    }

    @Test func typicalModelResize_isFast() throws {
        let photo = try Image(width: 1024, height: 768, channels: 3, fill: 90)
        let elapsed = try ContinuousClock().measure {
            let small = try photo.resized(width: 224, height: 224)
            #expect(small.width == 224)
        }
        #expect(elapsed < .seconds(5))   // generous: debug build, shared CPU
    }
}

@Suite struct FormatDetectionTests {
    @Test func magicBytes_identifySupportedFormats() throws {
        #expect(try ImageFormat.detect([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) == .png)
        #expect(try ImageFormat.detect([0xFF, 0xD8, 0xFF, 0xDB]) == .jpeg)
        #expect(ImageFormat.png.mimeType == "image/png" && ImageFormat.jpeg.mimeType == "image/jpeg")
        #expect(throws: ImagingError.empty) { try ImageFormat.detect([UInt8]()) }
    }
}
