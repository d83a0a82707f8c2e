import Logging
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// swift-log handler for `logging.format = "text"`: one human-readable line per event,
/// `<ts> <level> <label>: <msg> key=value …`, written through `LogOutput` like the JSON
/// handler (swift-log's `StreamLogHandler` writes with stdio and cannot count what it drops).
public struct TextLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let label: String
    private let fileDescriptor: Int32

    public init(label: String, fileDescriptor: Int32 = STDERR_FILENO) {
        self.label = label
        self.fileDescriptor = fileDescriptor
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:], uniquingKeysWith: { _, new in new })
        let fields = merged.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
        let line = "\(JSONLogHandler.timestamp()) \(event.level) \(label): \(event.message)\(fields)\n"
        LogOutput.write(Array(line.utf8), to: fileDescriptor)
    }
}
