import Testing
import Foundation
import Engine
@testable import Datasets
import TestSupport

/// Reads the real files from ../shared/datasets when present; generated IDX / CIFAR records
/// otherwise, so the readers are always exercised.
@Suite("MNIST and CIFAR-10 readers", .computeBound)
struct DatasetTests {
    static var sharedRoot: URL? { try? DatasetKind.locateRoot() }

    func temp() -> URL {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent("vg-data-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        return u
    }

    func be32(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 255), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }

    @Test func mnist_generatedRawIDX_isParsedWithLabelsAndPixels() throws {
        let dir = temp()
        let n = 3
        let pixels = (0..<(n * 784)).map { UInt8($0 % 256) }
        try Data(be32(2051) + be32(n) + be32(28) + be32(28) + pixels).write(to: dir.appendingPathComponent("t10k-images-idx3-ubyte"))
        try Data(be32(2049) + be32(n) + [7, 0, 9]).write(to: dir.appendingPathComponent("t10k-labels-idx1-ubyte"))
        let data = try MNIST.load(directory: dir, split: .test)
        #expect(data.count == 3 && data.labels == [7, 0, 9])
        let (x, y) = data.batch([1])
        #expect(x.shape == [1, 28, 28, 1] && y == [0])
        #expect(x.storage[0] == Float(784 % 256) / 255)
    }

    @Test func mnist_badMagic_andTruncation_areClearErrors() throws {
        let dir = temp()
        try Data(be32(1234) + be32(1) + be32(28) + be32(28)).write(to: dir.appendingPathComponent("t10k-images-idx3-ubyte"))
        try Data(be32(2049) + be32(1) + [1]).write(to: dir.appendingPathComponent("t10k-labels-idx1-ubyte"))
        #expect(throws: DatasetError.self) { try MNIST.load(directory: dir, split: .test) }
        try Data(be32(2051) + be32(2) + be32(28) + be32(28) + [1, 2, 3]).write(to: dir.appendingPathComponent("t10k-images-idx3-ubyte"))
        #expect(throws: DatasetError.self) { try MNIST.load(directory: dir, split: .test) }
    }

    @Test func cifar_generatedRecord_isConvertedFromPlanarToHWC() throws {
        let dir = temp()
        var record: [UInt8] = [3]
        record += [UInt8](repeating: 10, count: 1024) + [UInt8](repeating: 20, count: 1024) + [UInt8](repeating: 30, count: 1024)
        try Data(record).write(to: dir.appendingPathComponent("test_batch.bin"))
        let data = try CIFAR10.load(directory: dir, split: .test)
        #expect(data.labels == [3] && data.classNames[3] == "cat")
        #expect(Array(data.pixels.prefix(6)) == [10, 20, 30, 10, 20, 30])
    }

    @Test func realMNIST_matchesTheDocumentedCounts() throws {
        guard let root = Self.sharedRoot else { return }   // generated-data tests above still run
        let test = try DatasetKind.mnist.load(root: root, split: .test)
        #expect(test.count == 10_000)
        #expect(test.labels.filter { $0 == 0 }.count == 980)   // README histogram
    }

    @Test func realCIFAR_testSet_hasOneThousandPerClass() throws {
        guard let root = Self.sharedRoot else { return }
        let test = try DatasetKind.cifar10.load(root: root, split: .test)
        #expect(test.count == 10_000)
        #expect((0..<10).allSatisfy { c in test.labels.filter { $0 == c }.count == 1000 })
    }

    @Test func sampler_isSeededAndCoversEveryImageOncePerEpoch() {
        let data = LabeledImages(name: "t", height: 2, width: 2, channels: 1, pixels: [UInt8](repeating: 1, count: 40),
                                 labels: Array(0..<10), classNames: [])
        var a = BatchSampler(data: data, batchSize: 3, seed: 5), b = BatchSampler(data: data, batchSize: 3, seed: 5)
        let order = a.epochOrder()
        #expect(order == b.epochOrder())
        #expect(order.flatMap { $0 }.sorted() == Array(0..<10))
        #expect(order.map(\.count) == [3, 3, 3, 1])
    }

    @Test func augmentation_flipAndCrop_keepShapeAndValues() {
        let pixels: [UInt8] = (0..<(4 * 4 * 3)).map { UInt8($0) }
        let data = LabeledImages(name: "t", height: 4, width: 4, channels: 3, pixels: pixels, labels: [0], classNames: [])
        var s = BatchSampler(data: data, batchSize: 1, augmentation: .init(cropPadding: 0, horizontalFlip: true), seed: 1)
        var flipped = 0
        for _ in 0..<20 {
            let (x, _) = s.batch([0])
            #expect(x.shape == [1, 4, 4, 3])
            if x.storage[0] == Float(pixels[9]) / 255 { flipped += 1 }   // pixel (0,3) moved to (0,0)
        }
        #expect(flipped > 0 && flipped < 20)
    }

    @Test func prefixAndSuffix_takeTheFirstAndLastImages() {
        let data = LabeledImages(name: "t", height: 1, width: 2, channels: 1, pixels: (0..<10).map(UInt8.init),
                                 labels: [0, 1, 2, 3, 4], classNames: (0..<5).map(String.init))
        #expect(data.prefix(2).labels == [0, 1] && data.prefix(2).pixels == [0, 1, 2, 3])
        #expect(data.suffix(2).labels == [3, 4] && data.suffix(2).pixels == [6, 7, 8, 9])
        #expect(data.suffix(9).count == 5)
    }
}
