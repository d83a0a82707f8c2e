import Engine

/// A labelled image set held as bytes (HWC, row-major), converted to float batches on demand:
/// CIFAR-10's 50,000 training images are 150 MB as bytes but 600 MB as floats.
public struct LabeledImages: Sendable {
    public let name: String
    public let height: Int
    public let width: Int
    public let channels: Int
    public let pixels: [UInt8]
    public let labels: [Int]
    public let classNames: [String]

    public init(name: String, height: Int, width: Int, channels: Int, pixels: [UInt8], labels: [Int], classNames: [String]) {
        precondition(pixels.count == labels.count * height * width * channels, "pixels do not match labels × image size")
        self.name = name
        self.height = height
        self.width = width
        self.channels = channels
        self.pixels = pixels
        self.labels = labels
        self.classNames = classNames
    }

    public var count: Int { labels.count }
    public var imageShape: [Int] { [height, width, channels] }
    public var imageSize: Int { height * width * channels }

    /// Images at `indices` as a `[n, H, W, C]` tensor scaled to [0, 1].
    public func batch(_ indices: [Int]) -> (images: Tensor, labels: [Int]) {
        let size = imageSize
        var out = [Float](repeating: 0, count: indices.count * size)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for (j, i) in indices.enumerated() {
                    for p in 0..<size { dst[j * size + p] = Float(src[i * size + p]) / 255 }
                }
            }
        }
        return (Tensor(shape: [indices.count] + imageShape, storage: out), indices.map { labels[$0] })
    }

    /// The first `n` items (test slices).
    public func prefix(_ n: Int) -> LabeledImages {
        let k = min(n, count)
        return LabeledImages(name: name, height: height, width: width, channels: channels,
                             pixels: Array(pixels[0..<(k * imageSize)]), labels: Array(labels[0..<k]), classNames: classNames)
    }

    /// The last `n` images (all of them if there are fewer).
    public func suffix(_ n: Int) -> LabeledImages {
        let k = min(n, count)
        return LabeledImages(name: name, height: height, width: width, channels: channels,
                             pixels: Array(pixels[((count - k) * imageSize)...]), labels: Array(labels[(count - k)...]),
                             classNames: classNames)
    }
}
