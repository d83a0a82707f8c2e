/// An opaque 8-bit RGB colour, used as the background when alpha is removed.
public struct RGBColor: Sendable, Equatable, Hashable {
    public var red: UInt8
    public var green: UInt8
    public var blue: UInt8

    public init(red: UInt8, green: UInt8, blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    /// The default background: white is what browsers and Pillow-based pipelines show behind
    /// transparent pixels, and MNIST/CIFAR-style models have never seen "transparent".
    public static let white = RGBColor(red: 255, green: 255, blue: 255)
    public static let black = RGBColor(red: 0, green: 0, blue: 0)
}

/// Channel conversions. All of them are single passes over unsafe buffers with integer
/// arithmetic, and round the same way Pillow does, so results match the Python reference code.
extension Image {
    /// Luma from RGB with ITU-R BT.601 weights in 16-bit fixed point, exactly Pillow's
    /// `convert("L")`: `(19595 R + 38470 G + 7471 B + 32768) >> 16`. The weights sum to 65536,
    /// so a gray pixel maps to itself and gray -> RGB -> gray is the identity.
    @inline(__always)
    static func luma(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> UInt8 {
        UInt8(truncatingIfNeeded: (19595 * UInt32(r) + 38470 * UInt32(g) + 7471 * UInt32(b) + 32768) >> 16)
    }

    /// Straight-alpha "over": `round((a * c + (255 - a) * background) / 255)`, exact in integers.
    @inline(__always)
    static func composite(_ c: UInt8, alpha a: UInt8, over background: UInt8) -> UInt8 {
        let a32 = UInt32(a)
        var x = a32 * UInt32(c) + (255 - a32) * UInt32(background) + 128
        x = (x + (x >> 8)) >> 8
        return UInt8(truncatingIfNeeded: x)
    }

    /// This image with `channels` channels: 1 (gray), 3 (RGB) or 4 (RGBA).
    ///
    /// Removing alpha composites over `background` (white by default); going to gray uses
    /// BT.601 luma; adding alpha makes every pixel opaque; gray -> RGB replicates the value.
    public func converted(toChannels target: Int, background: RGBColor = .white) throws(ImagingError) -> Image {
        switch target {
        case 1: return grayscale(background: background)
        case 3: return rgb(background: background)
        case 4: return rgba()
        default: throw .invalidArgument("channels must be 1, 3 or 4, got \(target)")
        }
    }

    /// One-channel luma. RGBA is first composited over `background`.
    public func grayscale(background: RGBColor = .white) -> Image {
        if channels == 1 { return self }
        let source = channels == 4 ? removingAlpha(background: background) : self
        return Image.map(source, toChannels: 1) { src, dst, n in
            for i in 0..<n {
                dst[i] = Image.luma(src[3 * i], src[3 * i + 1], src[3 * i + 2])
            }
        }
    }

    /// Three-channel RGB: gray is replicated, RGBA is composited over `background`.
    public func rgb(background: RGBColor = .white) -> Image {
        switch channels {
        case 3:
            return self
        case 4:
            return removingAlpha(background: background)
        default:
            return Image.map(self, toChannels: 3) { src, dst, n in
                for i in 0..<n {
                    let v = src[i]
                    dst[3 * i] = v
                    dst[3 * i + 1] = v
                    dst[3 * i + 2] = v
                }
            }
        }
    }

    /// Four-channel RGBA; alpha is 255 where the source had none.
    public func rgba() -> Image {
        if channels == 4 { return self }
        let gray = channels == 1
        return Image.map(self, toChannels: 4) { src, dst, n in
            for i in 0..<n {
                if gray {
                    let v = src[i]
                    dst[4 * i] = v
                    dst[4 * i + 1] = v
                    dst[4 * i + 2] = v
                } else {
                    dst[4 * i] = src[3 * i]
                    dst[4 * i + 1] = src[3 * i + 1]
                    dst[4 * i + 2] = src[3 * i + 2]
                }
                dst[4 * i + 3] = 255
            }
        }
    }

    /// RGBA composited over an opaque `background`, giving RGB; other images are returned
    /// unchanged. Models take opaque input, and the background decides what a transparent
    /// region looks like to them, so it is explicit here rather than buried in the decoder.
    public func removingAlpha(background: RGBColor = .white) -> Image {
        guard channels == 4 else { return self }
        let (br, bg, bb) = (background.red, background.green, background.blue)
        return Image.map(self, toChannels: 3) { src, dst, n in
            for i in 0..<n {
                let a = src[4 * i + 3]
                dst[3 * i] = Image.composite(src[4 * i], alpha: a, over: br)
                dst[3 * i + 1] = Image.composite(src[4 * i + 1], alpha: a, over: bg)
                dst[3 * i + 2] = Image.composite(src[4 * i + 2], alpha: a, over: bb)
            }
        }
    }

    /// Runs `body(source, destination, pixelCount)` into a fresh, uninitialised buffer that
    /// `body` must fill completely.
    static func map(_ image: Image, toChannels target: Int,
                    _ body: (UnsafeBufferPointer<UInt8>, UnsafeMutableBufferPointer<UInt8>, Int) -> Void) -> Image {
        let n = image.pixelCount
        let count = n * target
        let out = [UInt8](unsafeUninitializedCapacity: count) { dst, initialized in
            image.pixels.withUnsafeBufferPointer { src in body(src, dst, n) }
            initialized = count
        }
        return Image(uncheckedWidth: image.width, height: image.height, channels: target, pixels: out)
    }
}
