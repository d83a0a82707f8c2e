import Foundation
import Synchronization

// MARK: - Unknown-key detection

/// Decodes a `Decodable` through another decoder (JSONDecoder's) while recording, for every
/// JSON object the types read, the keys they asked for (`decode`, `decodeIfPresent`,
/// `contains`, nested containers). Whatever the file has beyond those is a key no type knows.
///
/// The valid keys therefore come from the Codable types themselves, synthesised or
/// hand-written: a key added to a configuration struct is accepted without touching any list,
/// and a typo at any depth (`auth.apiKey`, `models.entries[0].treshold`) is found. Values are
/// still decoded by the wrapped decoder, so number and type rules are JSONDecoder's.
struct KnownKeysDecoder: Decoder {
    /// Keys asked for, per object path (`"auth"`, `"models.entries[0]"`, `""` for the root).
    final class Record: Sendable {
        let keys = Mutex<[String: Set<String>]>([:])
        func note(_ path: String, _ key: String?) {
            keys.withLock { keys in
                if let key { keys[path, default: []].insert(key) } else { _ = keys[path, default: []] }
            }
        }
        func requested(at path: String) -> Set<String> { keys.withLock { $0[path] ?? [] } }
    }

    let base: any Decoder
    let path: String
    let record: Record

    var codingPath: [any CodingKey] { base.codingPath }
    var userInfo: [CodingUserInfoKey: Any] { base.userInfo }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        record.note(path, nil)
        return KeyedDecodingContainer(Keyed(base: try base.container(keyedBy: type), path: path, record: record))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        Unkeyed(base: try base.unkeyedContainer(), path: path, record: record)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { try base.singleValueContainer() }

    static func child(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    // MARK: Keyed

    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let base: KeyedDecodingContainer<Key>
        let path: String
        let record: Record

        var codingPath: [any CodingKey] { base.codingPath }
        var allKeys: [Key] { base.allKeys }

        private func note(_ key: Key) { record.note(path, key.stringValue) }

        func contains(_ key: Key) -> Bool { note(key); return base.contains(key) }
        func decodeNil(forKey key: Key) throws -> Bool { note(key); return try base.decodeNil(forKey: key) }
        func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { note(key); return try base.decode(type, forKey: key) }
        func decode(_ type: String.Type, forKey key: Key) throws -> String { note(key); return try base.decode(type, forKey: key) }
        func decode(_ type: Double.Type, forKey key: Key) throws -> Double { note(key); return try base.decode(type, forKey: key) }
        func decode(_ type: Float.Type, forKey key: Key) throws -> Float { note(key); return try base.decode(type, forKey: key) }
        func decode(_ type: Int.Type, forKey key: Key) throws -> Int { note(key); return try base.decode(type, forKey: key) }
        func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { note(key); return try base.decode(type, forKey: key) }
        func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { note(key); return try base.decode(type, forKey: key) }
        func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { note(key); return try base.decode(type, forKey: key) }
        func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { note(key); return try base.decode(type, forKey: key) }
        func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { note(key); return try base.decode(type, forKey: key) }
        func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { note(key); return try base.decode(type, forKey: key) }
        func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { note(key); return try base.decode(type, forKey: key) }
        func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { note(key); return try base.decode(type, forKey: key) }
        func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { note(key); return try base.decode(type, forKey: key) }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            note(key)
            guard base.contains(key) else {
                throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "No value for key '\(key.stringValue)'"))
            }
            let decoder = try base.superDecoder(forKey: key)
            return try T(from: KnownKeysDecoder(base: decoder, path: KnownKeysDecoder.child(path, key.stringValue), record: record))
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
            -> KeyedDecodingContainer<NestedKey> {
            note(key)
            let child = KnownKeysDecoder.child(path, key.stringValue)
            return KeyedDecodingContainer(Keyed<NestedKey>(base: try base.nestedContainer(keyedBy: type, forKey: key), path: child, record: record))
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            note(key)
            return Unkeyed(base: try base.nestedUnkeyedContainer(forKey: key), path: KnownKeysDecoder.child(path, key.stringValue), record: record)
        }

        func superDecoder() throws -> any Decoder { try base.superDecoder() }
        func superDecoder(forKey key: Key) throws -> any Decoder {
            note(key)
            return KnownKeysDecoder(base: try base.superDecoder(forKey: key), path: KnownKeysDecoder.child(path, key.stringValue), record: record)
        }
    }

    // MARK: Unkeyed

    struct Unkeyed: UnkeyedDecodingContainer {
        var base: any UnkeyedDecodingContainer
        let path: String
        let record: Record

        var codingPath: [any CodingKey] { base.codingPath }
        var count: Int? { base.count }
        var isAtEnd: Bool { base.isAtEnd }
        var currentIndex: Int { base.currentIndex }
        private var elementPath: String { "\(path)[\(base.currentIndex)]" }

        mutating func decodeNil() throws -> Bool { try base.decodeNil() }
        mutating func decode(_ type: Bool.Type) throws -> Bool { try base.decode(type) }
        mutating func decode(_ type: String.Type) throws -> String { try base.decode(type) }
        mutating func decode(_ type: Double.Type) throws -> Double { try base.decode(type) }
        mutating func decode(_ type: Float.Type) throws -> Float { try base.decode(type) }
        mutating func decode(_ type: Int.Type) throws -> Int { try base.decode(type) }
        mutating func decode(_ type: Int8.Type) throws -> Int8 { try base.decode(type) }
        mutating func decode(_ type: Int16.Type) throws -> Int16 { try base.decode(type) }
        mutating func decode(_ type: Int32.Type) throws -> Int32 { try base.decode(type) }
        mutating func decode(_ type: Int64.Type) throws -> Int64 { try base.decode(type) }
        mutating func decode(_ type: UInt.Type) throws -> UInt { try base.decode(type) }
        mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try base.decode(type) }
        mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try base.decode(type) }
        mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try base.decode(type) }
        mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try base.decode(type) }

        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
            let child = elementPath
            return try T(from: KnownKeysDecoder(base: try base.superDecoder(), path: child, record: record))
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
            let child = elementPath
            return KeyedDecodingContainer(Keyed<NestedKey>(base: try base.nestedContainer(keyedBy: type), path: child, record: record))
        }

        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
            let child = elementPath
            return Unkeyed(base: try base.nestedUnkeyedContainer(), path: child, record: record)
        }

        mutating func superDecoder() throws -> any Decoder {
            let child = elementPath
            return KnownKeysDecoder(base: try base.superDecoder(), path: child, record: record)
        }
    }
}

// MARK: - Checking a document

extension KnownKeysDecoder {
    /// A key in the document that no type asked for, with the keys valid at its place.
    struct UnknownKey: Equatable {
        var path: String
        var key: String
        var valid: [String]

        /// The valid key nearest to `key`: one that extends it or that it extends (`timeout` →
        /// `timeoutSeconds`) first, then the smallest edit distance, ignoring case.
        var suggestion: String? {
            let typed = key.lowercased()
            func rank(_ candidate: String) -> (Int, Int) {
                let c = candidate.lowercased()
                return (c.hasPrefix(typed) || typed.hasPrefix(c) ? 0 : 1, Self.distance(c, typed))
            }
            return valid.min { rank($0) < rank($1) }
        }

        var description: String {
            let full = KnownKeysDecoder.child(path, key)
            guard let suggestion else { return "unknown key '\(full)'" }
            return "unknown key '\(full)'; did you mean '\(KnownKeysDecoder.child(path, suggestion))'? "
                + "(valid here: \(valid.joined(separator: ", ")))"
        }

        /// Levenshtein distance.
        static func distance(_ a: String, _ b: String) -> Int {
            let a = Array(a), b = Array(b)
            guard !a.isEmpty else { return b.count }
            var row = Array(0...b.count)
            for i in 1...a.count {
                var previous = row[0]
                row[0] = i
                for j in stride(from: 1, through: b.count, by: 1) {
                    let current = row[j]
                    row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                    previous = current
                }
            }
            return row[b.count]
        }
    }

    /// Decodes `T` from `data` and returns it with every object key in the document that
    /// `T`'s decoding never asked for. Keys starting with `_` are comments, and a top-level
    /// `$schema` (an editor's pointer to the JSON Schema) is allowed.
    static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws
        -> (value: T, unknown: [UnknownKey]) {
        let (value, record) = try decodeRecording(type, from: data)
        let document = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        var unknown: [UnknownKey] = []
        walk(document, path: "", record: record, into: &unknown)
        return (value, unknown)
    }

    /// The keys `T`'s decoding asks for at each object path of `data` (`"models.entries[0]"`):
    /// the valid keys, for checks that documentation and schema list exactly these.
    static func requestedKeys<T: Decodable>(_ type: T.Type, from data: Data) throws -> [String: Set<String>] {
        try decodeRecording(type, from: data).record.keys.withLock { $0 }
    }

    private static func decodeRecording<T: Decodable>(_ type: T.Type, from data: Data) throws -> (value: T, record: Record) {
        let record = Record()
        let decoder = JSONDecoder()
        decoder.userInfo[recordKey] = record
        return (try decoder.decode(Root<T>.self, from: data).value, record)
    }

    private static func walk(_ node: Any, path: String, record: Record, into unknown: inout [UnknownKey]) {
        if let object = node as? [String: Any] {
            let asked = record.requested(at: path)
            for (key, value) in object.sorted(by: { $0.key < $1.key }) where !key.hasPrefix("_") && !(path.isEmpty && key == "$schema") {
                if asked.contains(key) {
                    walk(value, path: child(path, key), record: record, into: &unknown)
                } else {
                    unknown.append(UnknownKey(path: path, key: key, valid: asked.filter { !$0.hasPrefix("_") }.sorted()))
                }
            }
        } else if let array = node as? [Any] {
            for (i, element) in array.enumerated() { walk(element, path: "\(path)[\(i)]", record: record, into: &unknown) }
        }
    }

    private static let recordKey = CodingUserInfoKey(rawValue: "vaeguard.knownKeys")!

    /// The entry point JSONDecoder calls; hands its decoder to `KnownKeysDecoder`.
    private struct Root<T: Decodable>: Decodable {
        let value: T
        init(from decoder: any Decoder) throws {
            guard let record = decoder.userInfo[KnownKeysDecoder.recordKey] as? Record else {
                throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "KnownKeysDecoder: no record"))
            }
            value = try T(from: KnownKeysDecoder(base: decoder, path: "", record: record))
        }
    }
}
