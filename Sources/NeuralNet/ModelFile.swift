import Foundation
import Engine

/// A model on disk: `NAME.json` (architecture) beside `NAME.safetensors` (weights).
public struct ModelFile: Sendable {
    public let architecture: ModelArchitecture
    public let network: Network
    public let url: URL

    /// Loads and verifies a model from its architecture JSON.
    public static func load(_ url: URL) throws(NeuralNetError) -> ModelFile {
        let path = url.path
        let jsonData: Data
        do { jsonData = try Data(contentsOf: url) } catch {
            throw .invalidFile(path: path, reason: "cannot read: \(error.localizedDescription)")
        }
        let arch: ModelArchitecture
        do { arch = try JSONDecoder().decode(ModelArchitecture.self, from: jsonData) } catch let e as NeuralNetError {
            throw e
        } catch {
            throw .invalidFile(path: path, reason: "not a valid architecture file: \(error)")
        }
        guard arch.format == ModelArchitecture.formatName else {
            throw .invalidFile(path: path, reason: "format is '\(arch.format)', expected '\(ModelArchitecture.formatName)'")
        }
        guard arch.formatVersion <= ModelArchitecture.currentFormatVersion else {
            throw .invalidFile(path: path, reason: "format version \(arch.formatVersion) is newer than this build supports")
        }
        guard !arch.weights.contains("/") else { throw .invalidFile(path: path, reason: "weights must be a file name beside the JSON") }
        let weightsURL = url.deletingLastPathComponent().appendingPathComponent(arch.weights)
        let weightData: Data
        do { weightData = try Data(contentsOf: weightsURL) } catch {
            throw .invalidFile(path: weightsURL.path, reason: "cannot read weights: \(error.localizedDescription)")
        }
        if let expected = arch.sha256 {
            let actual = Checksum.sha256(weightData)
            guard actual == expected else { throw .checksumMismatch(path: weightsURL.path, expected: expected, actual: actual) }
        }
        let network = try Network(architecture: arch)
        try network.load(try SafeTensors.decode(weightData, path: weightsURL.path).tensors)
        return ModelFile(architecture: arch, network: network, url: url)
    }

    /// Writes `NAME.safetensors` and `NAME.json` into `directory`, filling in the checksum.
    @discardableResult
    public static func save(_ network: Network, architecture: ModelArchitecture, to directory: URL,
                            dtype: SafeTensors.DType = .f32) throws -> URL {
        var arch = architecture
        // Name tensors as a network built from the architecture names them, so any network
        // whose layers match (whatever its in-memory parameter names) loads back.
        let canonical = try Network(architecture: arch)
        let ours = network.namedTensors, theirs = canonical.namedTensors
        guard ours.count == theirs.count else {
            throw NeuralNetError.invalidSpec("network has \(ours.count) tensors, architecture '\(arch.name)' expects \(theirs.count)")
        }
        var tensors: [String: Tensor] = [:]
        for (mine, reference) in zip(ours, theirs) {
            guard mine.shape == reference.shape else {
                throw NeuralNetError.shapeMismatch(what: "tensor '\(reference.name)'", expected: reference.shape, got: mine.shape)
            }
            tensors[reference.name] = mine.value
        }
        let data = try SafeTensors.encode(tensors, dtype: dtype, metadata: ["model": arch.name, "version": arch.version])
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try data.write(to: directory.appendingPathComponent(arch.weights), options: .atomic)
        arch.sha256 = Checksum.sha256(data)
        arch.storage = dtype.rawValue
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let jsonURL = directory.appendingPathComponent("\(arch.name).json")
        try encoder.encode(arch).write(to: jsonURL, options: .atomic)
        return jsonURL
    }
}
