/// Errors from building, loading or running networks. Messages name the tensor or layer.
public enum NeuralNetError: Error, CustomStringConvertible, Equatable {
    case shapeMismatch(what: String, expected: [Int], got: [Int])
    case missingTensor(String)
    case unexpectedTensor(String)
    case truncatedTensor(name: String, expectedBytes: Int, availableBytes: Int)
    case unsupportedDType(name: String, dtype: String)
    case unknownLayer(String)
    case invalidSpec(String)
    case invalidFile(path: String, reason: String)
    case checksumMismatch(path: String, expected: String, actual: String)

    public var description: String {
        switch self {
        case let .shapeMismatch(what, expected, got):
            return "shape mismatch for \(what): expected \(expected), got \(got)"
        case let .missingTensor(name): return "tensor '\(name)' is missing from the weights file"
        case let .unexpectedTensor(name): return "tensor '\(name)' in the weights file is not used by the architecture"
        case let .truncatedTensor(name, expected, available):
            return "tensor '\(name)' is truncated: needs \(expected) bytes, file has \(available)"
        case let .unsupportedDType(name, dtype): return "tensor '\(name)' has unsupported dtype \(dtype) (F32 and F16 are supported)"
        case let .unknownLayer(type): return "unknown layer type '\(type)'"
        case let .invalidSpec(reason): return "invalid architecture: \(reason)"
        case let .invalidFile(path, reason): return "\(path): \(reason)"
        case let .checksumMismatch(path, expected, actual):
            return "\(path): sha256 \(actual) does not match the architecture's \(expected)"
        }
    }
}
