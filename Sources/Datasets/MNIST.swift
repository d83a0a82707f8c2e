import Foundation

/// MNIST in the original IDX format (`train-images-idx3-ubyte[.gz]` …), big-endian headers.
public enum MNIST {
    public static let classNames = (0...9).map(String.init)

    public static func load(directory: URL, split: Split) throws(DatasetError) -> LabeledImages {
        let prefix = split == .train ? "train" : "t10k"
        let imagesPath = try existing(directory, "\(prefix)-images-idx3-ubyte")
        let labelsPath = try existing(directory, "\(prefix)-labels-idx1-ubyte")
        let images = try GzipFile.read(imagesPath)
        let labels = try GzipFile.read(labelsPath)
        guard images.count >= 16, be32(images, 0) == 2051 else { throw .badFormat(path: imagesPath, reason: "not an IDX3 image file (magic)") }
        guard labels.count >= 8, be32(labels, 0) == 2049 else { throw .badFormat(path: labelsPath, reason: "not an IDX1 label file (magic)") }
        let n = be32(images, 4), rows = be32(images, 8), cols = be32(images, 12)
        guard be32(labels, 4) == n else { throw .badFormat(path: labelsPath, reason: "label count differs from image count \(n)") }
        guard images.count == 16 + n * rows * cols else {
            throw .badFormat(path: imagesPath, reason: "expected \(16 + n * rows * cols) bytes, got \(images.count)")
        }
        guard labels.count == 8 + n else { throw .badFormat(path: labelsPath, reason: "expected \(8 + n) bytes, got \(labels.count)") }
        let labelValues = labels[8...].map(Int.init)
        guard labelValues.allSatisfy({ $0 < 10 }) else { throw .badFormat(path: labelsPath, reason: "label outside 0…9") }
        return LabeledImages(name: "mnist-\(split.rawValue)", height: rows, width: cols, channels: 1,
                             pixels: Array(images[16...]), labels: labelValues, classNames: classNames)
    }

    private static func be32(_ b: [UInt8], _ o: Int) -> Int {
        Int(b[o]) << 24 | Int(b[o + 1]) << 16 | Int(b[o + 2]) << 8 | Int(b[o + 3])
    }

    static func existing(_ dir: URL, _ base: String) throws(DatasetError) -> String {
        for name in [base + ".gz", base] {
            let p = dir.appendingPathComponent(name).path
            if FileManager.default.fileExists(atPath: p) { return p }
        }
        throw .notFound("\(dir.path)/\(base)[.gz]")
    }
}

/// Which part of a dataset.
public enum Split: String, Sendable, CaseIterable {
    case train, test
}
