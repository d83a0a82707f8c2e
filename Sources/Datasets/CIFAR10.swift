import Foundation

/// CIFAR-10 binary version: records of 1 label byte + 3,072 pixel bytes (R plane, G plane,
/// B plane, 32×32 each). Converted here to HWC, the engine's layout.
public enum CIFAR10 {
    public static let classNames = ["airplane", "automobile", "bird", "cat", "deer",
                                    "dog", "frog", "horse", "ship", "truck"]
    static let recordSize = 3073

    public static func load(directory: URL, split: Split) throws(DatasetError) -> LabeledImages {
        let files = split == .train ? (1...5).map { "data_batch_\($0).bin" } : ["test_batch.bin"]
        var pixels: [UInt8] = []
        var labels: [Int] = []
        for file in files {
            let path = try MNIST.existing(directory, file)
            let bytes = try GzipFile.read(path, expectedSize: 10_000 * recordSize)
            guard bytes.count % recordSize == 0, !bytes.isEmpty else {
                throw .badFormat(path: path, reason: "size \(bytes.count) is not a multiple of \(recordSize)-byte records")
            }
            let n = bytes.count / recordSize
            pixels.reserveCapacity(pixels.count + n * 3072)
            var hwc = [UInt8](repeating: 0, count: 3072)
            for r in 0..<n {
                let base = r * recordSize
                guard bytes[base] < 10 else { throw .badFormat(path: path, reason: "record \(r) has label \(bytes[base])") }
                labels.append(Int(bytes[base]))
                for c in 0..<3 {
                    for p in 0..<1024 { hwc[p * 3 + c] = bytes[base + 1 + c * 1024 + p] }
                }
                pixels.append(contentsOf: hwc)
            }
        }
        return LabeledImages(name: "cifar10-\(split.rawValue)", height: 32, width: 32, channels: 3,
                             pixels: pixels, labels: labels, classNames: classNames)
    }
}
