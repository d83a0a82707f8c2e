import Engine

/// Shuffled mini-batches with a seed, and CIFAR-style augmentation.
public struct BatchSampler: Sendable {
    public let data: LabeledImages
    public let batchSize: Int
    public var augmentation: Augmentation
    public var rng: RandomSource

    /// Random crop after zero padding, and horizontal flip (the standard CIFAR-10 recipe).
    public struct Augmentation: Sendable {
        public var cropPadding: Int
        public var horizontalFlip: Bool
        public static let none = Augmentation(cropPadding: 0, horizontalFlip: false)
        public static let cifar = Augmentation(cropPadding: 4, horizontalFlip: true)
        public init(cropPadding: Int, horizontalFlip: Bool) {
            self.cropPadding = cropPadding
            self.horizontalFlip = horizontalFlip
        }
    }

    public init(data: LabeledImages, batchSize: Int, augmentation: Augmentation = .none, seed: UInt64) {
        self.data = data
        self.batchSize = batchSize
        self.augmentation = augmentation
        self.rng = RandomSource(seed: seed)
    }

    public var batchesPerEpoch: Int { (data.count + batchSize - 1) / batchSize }

    /// One epoch's batches of indices, in a fresh random order.
    public mutating func epochOrder() -> [[Int]] {
        var order = Array(0..<data.count)
        order.shuffle(using: &rng)
        return stride(from: 0, to: order.count, by: batchSize).map { Array(order[$0..<min($0 + batchSize, order.count)]) }
    }

    /// The images at `indices`, augmented when configured.
    public mutating func batch(_ indices: [Int]) -> (images: Tensor, labels: [Int]) {
        var (x, y) = data.batch(indices)
        if augmentation.cropPadding > 0 || augmentation.horizontalFlip {
            augment(&x)
        }
        return (x, y)
    }

    private mutating func augment(_ x: inout Tensor) {
        let (h, w, c) = (data.height, data.width, data.channels)
        let pad = augmentation.cropPadding
        let size = h * w * c
        var scratch = [Float](repeating: 0, count: size)
        for n in 0..<x.batchSize {
            let dy = pad > 0 ? rng.nextInt(2 * pad + 1) - pad : 0
            let dx = pad > 0 ? rng.nextInt(2 * pad + 1) - pad : 0
            let flip = augmentation.horizontalFlip && rng.nextUniform() < 0.5
            x.storage.withUnsafeMutableBufferPointer { p in
                let base = n * size
                for i in 0..<h {
                    for j in 0..<w {
                        let sy = i + dy
                        let sxRaw = j + dx
                        let sx = flip ? (w - 1 - sxRaw) : sxRaw
                        for ch in 0..<c {
                            scratch[(i * w + j) * c + ch] = (sy >= 0 && sy < h && sx >= 0 && sx < w)
                                ? p[base + (sy * w + sx) * c + ch] : 0
                        }
                    }
                }
                for k in 0..<size { p[base + k] = scratch[k] }
            }
        }
    }
}
