import Foundation
import Certification

/// The rows of a certification run, one per test image, as Cohen et al.'s `certify.py`
/// writes them (`idx label predict radius correct time`, tab-separated, predict −1 =
/// abstained), appended as each image finishes so `--resume` skips the indices already there.
public final class CertificationLog {
    public struct Row: Sendable, Equatable {
        public var index: Int
        public var label: Int
        /// −1 when CERTIFY abstained.
        public var predicted: Int
        public var radius: Double
        public var seconds: Double

        public init(index: Int, label: Int, predicted: Int, radius: Double, seconds: Double) {
            self.index = index
            self.label = label
            self.predicted = predicted
            self.radius = radius
            self.seconds = seconds
        }

        public var correct: Bool { predicted == label }
    }

    public static let header = "idx\tlabel\tpredict\tradius\tcorrect\ttime"
    public let url: URL
    public private(set) var rows: [Row] = []
    private let handle: FileHandle

    /// Opens `url`: with `resume`, keeps and reads its rows; without, an existing file is an
    /// error (a finished run is never overwritten by accident).
    public init(url: URL, resume: Bool) throws(CertificationError) {
        self.url = url
        let fm = FileManager.default
        if fm.fileExists(atPath: url.path) {
            guard resume else { throw .io("\(url.path) exists; pass --resume to continue it or choose another --output") }
            let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n").dropFirst() {
                guard let row = Self.parse(line) else { throw .io("\(url.path): cannot read row '\(line)'") }
                rows.append(row)
            }
        } else {
            do {
                try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try (Self.header + "\n").write(to: url, atomically: true, encoding: .utf8)
            } catch { throw .io("cannot create \(url.path): \(error)") }
        }
        do {
            handle = try FileHandle(forWritingTo: url)
            try handle.seekToEnd()
        } catch { throw .io("cannot open \(url.path): \(error)") }
    }

    deinit { try? handle.close() }

    /// Indices already certified.
    public var done: Set<Int> { Set(rows.map(\.index)) }

    /// Appends one row to the file (flushed at once) and to `rows`.
    public func append(_ row: Row) throws(CertificationError) {
        let line = String(format: "%d\t%d\t%d\t%.6f\t%d\t%.3f\n", row.index, row.label, row.predicted, row.radius,
                          row.correct ? 1 : 0, row.seconds)
        do {
            try handle.write(contentsOf: Data(line.utf8))
            try handle.synchronize()
        } catch { throw .io("cannot append to \(url.path): \(error)") }
        rows.append(row)
    }

    static func parse(_ line: Substring) -> Row? {
        let f = line.split(separator: "\t")
        guard f.count == 6, let i = Int(f[0]), let l = Int(f[1]), let p = Int(f[2]), let r = Double(f[3]), let t = Double(f[5])
        else { return nil }
        return Row(index: i, label: l, predicted: p, radius: r, seconds: t)
    }
}
