import Foundation
import NeuralNet

/// Finds and loads the model files shipped in the repository's `models/` folder (or another
/// folder given by configuration or `$VAEGUARD_MODELS`).
public struct ModelCatalog: Sendable {
    public let directory: URL
    public let models: [String: ModelFile]

    /// Loads every `*.json` architecture file in `directory` (skipping training curves).
    public init(directory: URL) throws {
        self.directory = directory
        var models: [String: ModelFile] = [:]
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".json") }.sorted()
        for file in files {
            let model = try ModelFile.load(directory.appendingPathComponent(file))
            models[model.architecture.name] = model
        }
        self.models = models
    }

    public subscript(name: String) -> ModelFile? { models[name] }

    /// The models folder: explicit path, else `$VAEGUARD_MODELS`, else `./models`, else the
    /// `models` folder of the checkout the executable was built in (`.build/<config>/vaeguard`
    /// → `models/`), else `/usr/share/vaeguard/models` (the container image).
    public static func locateDirectory(explicit: String? = nil) -> URL? {
        let fm = FileManager.default
        if let explicit { return URL(fileURLWithPath: explicit) }
        if let env = ProcessInfo.processInfo.environment["VAEGUARD_MODELS"], !env.isEmpty { return URL(fileURLWithPath: env) }
        var candidates = [URL(fileURLWithPath: fm.currentDirectoryPath).appendingPathComponent("models")]
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        for _ in 0..<4 {
            candidates.append(dir.appendingPathComponent("models"))
            dir = dir.deletingLastPathComponent()
        }
        candidates.append(URL(fileURLWithPath: "/usr/share/vaeguard/models"))
        return candidates.first { fm.fileExists(atPath: $0.appendingPathComponent("mnist-classifier.json").path) }
    }
}
