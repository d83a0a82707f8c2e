import Foundation
import Engine
import Datasets
import Imaging

/// A user's own images as a training set: every PNG and JPEG under a folder (recursive), of
/// any size, converted to `channels` and resized to `height`×`width`, split into training and
/// held-out images by a seeded shuffle.
///
/// Labelled (`vaeguard train classifier --images DIR`): the ImageFolder layout torchvision
/// users know, one subfolder per class (`DIR/cat/*.png`, `DIR/dog/*.jpg`); class names are
/// the subfolder names in sorted order. Unlabelled (`train patch-vae --images DIR`): every
/// image under DIR, label 0.
public enum ImageFolder {
    public enum Failure: Error, CustomStringConvertible {
        case empty(String)
        case unreadable(String, String)

        public var description: String {
            switch self {
            case .empty(let m): m
            case .unreadable(let path, let why): "\(path): \(why)"
            }
        }
    }

    static let extensions: Set<String> = ["png", "jpg", "jpeg"]

    /// The image files under `directory`, sorted by path.
    public static func files(in directory: URL) -> [URL] {
        let walker = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: [.isRegularFileKey])
        var out: [URL] = []
        while let url = walker?.nextObject() as? URL {
            if extensions.contains(url.pathExtension.lowercased()) { out.append(url) }
        }
        return out.sorted { $0.path < $1.path }
    }

    /// Reads the folder; `heldOut` is the fraction kept for the test metric (at least one
    /// image when there are two or more). Unreadable files stop the load with their path.
    public static func load(_ directory: URL, height: Int, width: Int, channels: Int, labeled: Bool,
                            heldOut: Double = 0.1, seed: UInt64 = 1) throws -> (train: LabeledImages, test: LabeledImages) {
        var items: [(URL, Int)] = []
        var classNames: [String] = []
        if labeled {
            let subfolders = ((try? FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: [.isDirectoryKey])) ?? [])
                .filter { (try? $0.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) == true }
                .sorted { $0.lastPathComponent < $1.lastPathComponent }
            for folder in subfolders {
                let images = files(in: folder)
                guard !images.isEmpty else { continue }
                items += images.map { ($0, classNames.count) }
                classNames.append(folder.lastPathComponent)
            }
            guard classNames.count >= 2 else {
                throw Failure.empty("\(directory.path): need at least two class subfolders holding PNG or JPEG images (ImageFolder layout), found \(classNames.count)")
            }
        } else {
            items = files(in: directory).map { ($0, 0) }
            classNames = ["image"]
        }
        guard !items.isEmpty else { throw Failure.empty("\(directory.path): no PNG or JPEG images") }

        let size = height * width * channels
        var pixels = [UInt8](repeating: 0, count: items.count * size)
        let progress = ProgressBar(total: items.count, label: "reading \(directory.lastPathComponent)", plainInterval: 10)
        for (i, (url, _)) in items.enumerated() {
            do {
                let image = try ImageDecoder.decode(try Data(contentsOf: url))
                var converted = try image.converted(toChannels: channels, background: .black)
                if converted.width != width || converted.height != height { converted = try converted.resized(width: width, height: height) }
                pixels.replaceSubrange((i * size)..<((i + 1) * size), with: converted.pixels)
            } catch {
                throw Failure.unreadable(url.path, "\(error)")
            }
            progress.update(step: i + 1, items: i + 1, extra: "")
        }
        progress.finish()

        var order = Array(items.indices)
        var rng = RandomSource(seed: seed)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.nextInt(i + 1)) }
        let testCount = items.count < 2 ? 0 : max(1, Int((Double(items.count) * heldOut).rounded()))
        func subset(_ indices: ArraySlice<Int>) -> LabeledImages {
            var p: [UInt8] = []
            p.reserveCapacity(indices.count * size)
            for i in indices { p += pixels[(i * size)..<((i + 1) * size)] }
            return LabeledImages(name: directory.lastPathComponent, height: height, width: width, channels: channels, pixels: p,
                                 labels: indices.map { items[$0].1 }, classNames: classNames)
        }
        let test = subset(order[..<testCount])
        let train = subset(order[testCount...])
        return (train, test.count > 0 ? test : train)
    }
}
