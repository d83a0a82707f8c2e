import Foundation

/// Finds the model files in the repository's `models/` folder (or another folder given by
/// configuration or `$VAEGUARD_MODELS`) by name, reading no weights: loading is
/// `ModelLoader`'s (Purification), which asks for the few files a model needs.
public struct ModelCatalog: Sendable {
    public let directory: URL

    public init(directory: URL) {
        self.directory = directory
    }

    /// The architecture file of the model called `name`: `NAME.json` (as `ModelFile.save`
    /// names it), else the `*.json` whose architecture is named `name` (only the JSON is
    /// read); nil when there is none.
    public func url(named name: String) -> URL? {
        let fm = FileManager.default
        let direct = directory.appendingPathComponent("\(name).json")
        if fm.fileExists(atPath: direct.path) { return direct }
        let files = (try? fm.contentsOfDirectory(atPath: directory.path))?.filter { $0.hasSuffix(".json") }.sorted() ?? []
        return files.lazy.map { self.directory.appendingPathComponent($0) }.first { url in
            guard let data = try? Data(contentsOf: url), let header = try? JSONDecoder().decode(Header.self, from: data) else {
                return false
            }
            return header.name == name
        }
    }

    /// The part of an architecture file the search reads.
    private struct Header: Decodable {
        let name: String
    }

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
