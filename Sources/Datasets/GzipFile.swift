import CZlib

/// Reads a whole file, gunzipping it if it is gzip-compressed (zlib's gzread passes plain
/// files through unchanged, so `.gz` and raw files both work).
enum GzipFile {
    static func read(_ path: String, expectedSize: Int? = nil) throws(DatasetError) -> [UInt8] {
        guard let file = gzopen(path, "rb") else { throw .unreadable(path: path, reason: "cannot open") }
        defer { gzclose(file) }
        var out: [UInt8] = []
        out.reserveCapacity(expectedSize ?? 1 << 20)
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32($0.count)) }
            if n < 0 { throw .unreadable(path: path, reason: "corrupt gzip stream") }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<Int(n)])
        }
        return out
    }
}
