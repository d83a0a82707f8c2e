import Foundation
import Synchronization
import Attacks

/// The output folder of `vaeguard evaluate`: every finished cell is written at once to
/// `results.json` and `results.csv` (clean rows to `clean.json` / `clean.csv`), so an
/// interrupted run loses at most the cell in progress and `--resume` skips what is there.
public final class ResultStore: Sendable {
    public let directory: URL
    /// Everything `add` changes, behind one lock: workers finish cells concurrently.
    private struct State {
        var cells: [CellResult] = []
        var clean: [CleanResult] = []
        var keys: Set<String> = []
        var cleanKeys: Set<String> = []
    }
    private let state: Mutex<State>

    public var cells: [CellResult] { state.withLock { $0.cells } }
    public var clean: [CleanResult] { state.withLock { $0.clean } }

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
            state = Mutex(State())
            return
        }
        var loaded = State()
        let decoder = JSONDecoder()
        if let data = fm.contents(atPath: results.path) {
            do { loaded.cells = try decoder.decode([CellResult].self, from: data) } catch { throw .io("cannot read \(results.path): \(error)") }
        }
        if let data = fm.contents(atPath: cleanURL.path) {
            do { loaded.clean = try decoder.decode([CleanResult].self, from: data) } catch { throw .io("cannot read \(cleanURL.path): \(error)") }
        }
        loaded.keys = Set(loaded.cells.map(\.key))
        loaded.cleanKeys = Set(loaded.clean.map(\.key))
        state = Mutex(loaded)
    }

    public func contains(_ key: String) -> Bool { state.withLock { $0.keys.contains(key) } }
    public func containsClean(_ key: String) -> Bool { state.withLock { $0.cleanKeys.contains(key) } }

    /// Adds a cell and rewrites the result files (under the lock, so files follow the order of adds).
    public func add(_ cell: CellResult) throws(AttackError) {
        try state.withLock { (s: inout State) throws(AttackError) in
            s.cells.removeAll { $0.key == cell.key }
            s.cells.append(cell)
            s.keys.insert(cell.key)
            try write(s.cells, json: "results.json", csv: "results.csv", header: CellResult.csvHeader, row: \.csvRow)
        }
    }

    public func add(_ row: CleanResult) throws(AttackError) {
        try state.withLock { (s: inout State) throws(AttackError) in
            s.clean.removeAll { $0.key == row.key }
            s.clean.append(row)
            s.cleanKeys.insert(row.key)
            try write(s.clean, json: "clean.json", csv: "clean.csv", header: CleanResult.csvHeader, row: \.csvRow)
        }
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
