import Foundation
import Attacks

/// The output folder of `vaeguard evaluate`: every finished cell is written at once to
/// `results.json` and `results.csv` (clean rows to `clean.json` / `clean.csv`), so an
/// interrupted run loses at most the cell in progress and `--resume` skips what is there.
public final class ResultStore: @unchecked Sendable {
    public let directory: URL
    public private(set) var cells: [CellResult] = []
    public private(set) var clean: [CleanResult] = []
    private var keys: Set<String> = []
    private var cleanKeys: Set<String> = []
    private let lock = NSLock()

    /// Opens `directory`, loading earlier results when `resume` is set. Without `resume` an
    /// existing `results.json` is an error, so a finished run is never overwritten by accident.
    public init(directory: URL, resume: Bool) throws(AttackError) {
        self.directory = directory
        let fm = FileManager.default
        do {
            try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw .io("cannot create \(directory.path): \(error)")
        }
        let results = directory.appendingPathComponent("results.json")
        let cleanURL = directory.appendingPathComponent("clean.json")
        if !resume {
            if fm.fileExists(atPath: results.path) || fm.fileExists(atPath: cleanURL.path) {
                throw .io("\(directory.path) already holds results; pass --resume to continue them or choose another --output")
            }
            return
        }
        let decoder = JSONDecoder()
        if let data = fm.contents(atPath: results.path) {
            do { cells = try decoder.decode([CellResult].self, from: data) } catch { throw .io("cannot read \(results.path): \(error)") }
        }
        if let data = fm.contents(atPath: cleanURL.path) {
            do { clean = try decoder.decode([CleanResult].self, from: data) } catch { throw .io("cannot read \(cleanURL.path): \(error)") }
        }
        keys = Set(cells.map(\.key))
        cleanKeys = Set(clean.map(\.key))
    }

    public func contains(_ key: String) -> Bool { lock.withLock { keys.contains(key) } }
    public func containsClean(_ key: String) -> Bool { lock.withLock { cleanKeys.contains(key) } }

    /// Adds a cell and rewrites the result files.
    public func add(_ cell: CellResult) throws(AttackError) {
        lock.lock()
        defer { lock.unlock() }
        cells.removeAll { $0.key == cell.key }
        cells.append(cell)
        keys.insert(cell.key)
        try write(cells, json: "results.json", csv: "results.csv", header: CellResult.csvHeader, row: \.csvRow)
    }

    public func add(_ row: CleanResult) throws(AttackError) {
        lock.lock()
        defer { lock.unlock() }
        clean.removeAll { $0.key == row.key }
        clean.append(row)
        cleanKeys.insert(row.key)
        try write(clean, json: "clean.json", csv: "clean.csv", header: CleanResult.csvHeader, row: \.csvRow)
    }

    /// Writes `text` to a file of the output folder (atomically).
    public func writeText(_ text: String, to name: String) throws(AttackError) {
        let url = directory.appendingPathComponent(name)
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url, options: .atomic)
        } catch {
            throw .io("cannot write \(url.path): \(error)")
        }
    }

    private func write<T: Encodable>(_ rows: [T], json: String, csv: String, header: String, row: (T) -> String) throws(AttackError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data: Data
        do { data = try encoder.encode(rows) } catch { throw .io("cannot encode results: \(error)") }
        try writeText(String(decoding: data, as: UTF8.self) + "\n", to: json)
        try writeText(([header] + rows.map(row)).joined(separator: "\n") + "\n", to: csv)
    }
}
