import Foundation

/// The datasets VAEGuard trains and evaluates on, and where to find them.
public enum DatasetKind: String, Sendable, CaseIterable {
    case mnist, cifar10

    public var subdirectory: String { rawValue }

    public func load(root: URL, split: Split) throws(DatasetError) -> LabeledImages {
        let dir = root.appendingPathComponent(subdirectory)
        switch self {
        case .mnist: return try MNIST.load(directory: dir, split: split)
        case .cifar10: return try CIFAR10.load(directory: dir, split: split)
        }
    }

    /// The datasets root: an explicit path, else `$VAEGUARD_DATASETS`, else the first
    /// `shared/datasets` found beside the working directory or above it (`../shared/datasets`
    /// from a checkout).
    public static func locateRoot(explicit: String? = nil) throws(DatasetError) -> URL {
        if let explicit { return URL(fileURLWithPath: explicit) }
        if let env = ProcessInfo.processInfo.environment["VAEGUARD_DATASETS"], !env.isEmpty {
            return URL(fileURLWithPath: env)
        }
        var dir = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        for _ in 0..<4 {
            for candidate in ["shared/datasets", "../shared/datasets"] {
                let url = dir.appendingPathComponent(candidate).standardizedFileURL
                if FileManager.default.fileExists(atPath: url.appendingPathComponent("mnist").path) { return url }
            }
            dir = dir.deletingLastPathComponent()
        }
        throw .notFound("no datasets directory (set --datasets or VAEGUARD_DATASETS; default ../shared/datasets)")
    }
}
