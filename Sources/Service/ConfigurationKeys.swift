import Foundation

/// Every settable key of a `Decodable` configuration type, found by decoding the type with a
/// decoder that answers every question and records the keys asked for. So the environment
/// variables (`ServiceConfiguration+Environment.swift`) follow the configuration types
/// themselves, optional sections (`upstream`) and keys (`server.tlsCertificate`) included,
/// with no list to keep in step.
struct ConfigurationKeys {
    /// A settable value: `path` from the root (`["server", "maxBodyBytes"]`) and how an
    /// environment string becomes its JSON value.
    struct Leaf: Equatable {
        enum Kind: Equatable { case string, number, bool, stringList, json }
        var path: [String]
        var kind: Kind
    }

    static func leaves<T: Decodable>(of type: T.Type) -> [Leaf] {
        let recorder = Recorder()
        _ = try? T(from: RecordingDecoder(recorder: recorder, codingPath: []))
        return recorder.leaves
    }

    final class Recorder {
        var leaves: [Leaf] = []
        func record(_ path: [String], _ kind: Leaf.Kind) {
            if !leaves.contains(where: { $0.path == path }) { leaves.append(Leaf(path: path, kind: kind)) }
        }
    }

    struct RecordingDecoder: Decoder {
        let recorder: Recorder
        var codingPath: [any CodingKey]
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedDecodingContainer<Key> {
            KeyedDecodingContainer(Keyed<Key>(recorder: recorder, codingPath: codingPath))
        }
        func unkeyedContainer() -> any UnkeyedDecodingContainer { Empty(codingPath: codingPath) }
        func singleValueContainer() -> any SingleValueDecodingContainer { Single(codingPath: codingPath) }
    }

    /// Answers "present" for every key and records it; nested structures are decoded in
    /// turn, so their keys are recorded under this one. A value whose decoding asked for no
    /// key of its own is a leaf.
    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let recorder: Recorder
        var codingPath: [any CodingKey]
        var allKeys: [Key] { [] }
        func contains(_ key: Key) -> Bool { true }
        func decodeNil(forKey key: Key) -> Bool { false }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            let path = (codingPath + [key]).map(\.stringValue)
            if let cases = T.self as? any CaseIterable.Type, let first = Self.firstCase(cases) as? T {
                recorder.record(path, .string)
                return first
            }
            let before = recorder.leaves.count
            let value = try T(from: RecordingDecoder(recorder: recorder, codingPath: codingPath + [key]))
            if recorder.leaves.count == before { recorder.record(path, Self.kind(of: T.self)) }
            return value
        }

        /// An enum's first case (decoding "" would fail), through the opened existential.
        static func firstCase<C: CaseIterable>(_ type: C.Type) -> Any? {
            type.allCases.first.map { $0 as Any }
        }

        static func kind<T>(of type: T.Type) -> Leaf.Kind {
            switch type {
            case is String.Type: .string
            case is Bool.Type: .bool
            case is Int.Type, is Double.Type, is Float.Type, is UInt16.Type, is UInt64.Type: .number
            case is [String].Type: .stringList
            default: .json
            }
        }

        func nestedContainer<N: CodingKey>(keyedBy type: N.Type, forKey key: Key) -> KeyedDecodingContainer<N> {
            KeyedDecodingContainer(Keyed<N>(recorder: recorder, codingPath: codingPath + [key]))
        }
        func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedDecodingContainer { Empty(codingPath: codingPath + [key]) }
        func superDecoder() -> any Decoder { RecordingDecoder(recorder: recorder, codingPath: codingPath) }
        func superDecoder(forKey key: Key) -> any Decoder { RecordingDecoder(recorder: recorder, codingPath: codingPath + [key]) }
    }

    /// Arrays decode as empty: a list is one value, set as a whole.
    struct Empty: UnkeyedDecodingContainer {
        var codingPath: [any CodingKey]
        var count: Int? { 0 }
        var isAtEnd: Bool { true }
        var currentIndex: Int { 0 }
        mutating func decodeNil() -> Bool { true }
        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
            throw DecodingError.valueNotFound(T.self, .init(codingPath: codingPath, debugDescription: "empty"))
        }
        mutating func nestedContainer<N: CodingKey>(keyedBy type: N.Type) throws -> KeyedDecodingContainer<N> {
            throw DecodingError.valueNotFound(N.self, .init(codingPath: codingPath, debugDescription: "empty"))
        }
        mutating func nestedUnkeyedContainer() -> any UnkeyedDecodingContainer { self }
        mutating func superDecoder() throws -> any Decoder {
            throw DecodingError.valueNotFound(Int.self, .init(codingPath: codingPath, debugDescription: "empty"))
        }
    }

    /// Scalars decode as zero, false or "".
    struct Single: SingleValueDecodingContainer {
        var codingPath: [any CodingKey]
        func decodeNil() -> Bool { false }
        func decode(_ type: Bool.Type) -> Bool { false }
        func decode(_ type: String.Type) -> String { "" }
        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            if let zero = (T.self as? any Numeric.Type).map({ $0.zero }) as? T { return zero }
            throw DecodingError.typeMismatch(T.self, .init(codingPath: codingPath, debugDescription: "no sample value"))
        }
    }
}

private extension Numeric {
    static var zero: Self { 0 }
}
