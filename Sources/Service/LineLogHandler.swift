import Foundation
import Logging

/// swift-log handler writing one line per event to standard error, as JSON
/// (`{"ts": …, "level": …, "label": …, "msg": …, <metadata>…}`, keys sorted) or as text
/// (`<ts> <level> <label>: <msg> key=value …`). Metadata values are strings; handlers decide
/// what goes in (the service never logs bodies or API keys). Lines go through `LogOutput`, so
/// a closed stderr drops (and counts) lines instead of killing the process; swift-log's own
/// `StreamLogHandler` writes with stdio and cannot count what it drops.
public struct LineLogHandler: LogHandler {
    /// `logging.format` in the configuration.
    public enum Format: String, Sendable { case json, text }

    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let label: String
    private let format: Format
    private let fileDescriptor: Int32

    /// - Parameters:
    ///   - fileDescriptor: where lines go; standard error unless a test says otherwise.
    public init(label: String, format: Format = .json, fileDescriptor: Int32 = STDERR_FILENO) {
        self.label = label
        self.format = format
        self.fileDescriptor = fileDescriptor
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:], uniquingKeysWith: { _, new in new })
        let line: [UInt8]
        switch format {
        case .json:
            var object: [String: String] = [
                "ts": Self.timestamp(),
                "level": event.level.rawValue,
                "label": label,
                "msg": event.message.description,
            ]
            for (k, v) in merged { object[k] = "\(v)" }
            guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
            line = [UInt8](data) + [0x0A]
        case .text:
            let fields = merged.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
            line = Array("\(Self.timestamp()) \(event.level) \(label): \(event.message)\(fields)\n".utf8)
        }
        LogOutput.write(line, to: fileDescriptor)
    }

    static func timestamp() -> String {
        var tv = timeval()
        gettimeofday(&tv, nil)
        var tm = tm()
        var seconds = tv.tv_sec
        gmtime_r(&seconds, &tm)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                      tm.tm_hour, tm.tm_min, tm.tm_sec, Int(tv.tv_usec / 1000))
    }
}
