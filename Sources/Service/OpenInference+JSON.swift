import Foundation

/// A JSON value as the Open Inference Protocol request reader sees it.
///
/// `floats` holds an input tensor's `data`: `OIPJSONReader` streams those numbers straight
/// into one flat `[Float]` (nested arrays flattened), 4 bytes a value, instead of building a
/// tree of boxed numbers (about 24 times the body's size with `JSONSerialization`).
enum OIPJSON: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([OIPJSON])
    case object([String: OIPJSON])
    case floats([Float])

    var string: String? { if case .string(let s) = self { s } else { nil } }
    var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    var object: [String: OIPJSON]? { if case .object(let o) = self { o } else { nil } }
    var array: [OIPJSON]? { if case .array(let a) = self { a } else { nil } }

    /// The value as an exact integer, when it is a JSON number with no fraction that fits `Int`.
    var int: Int? {
        guard case .number(let d) = self, d.rounded() == d, abs(d) < 9.0e15 else { return nil }
        return Int(d)
    }

    /// The value as a query-string value: strings as they are, booleans as `true`/`false`,
    /// integral numbers without a fraction (`3`, not `3.0`).
    var queryValue: String {
        switch self {
        case .null: "null"
        case .bool(let b): b ? "true" : "false"
        case .number(let d): int.map(String.init) ?? String(d)
        case .string(let s): s
        case .array, .object, .floats: "(\(kind))"
        }
    }

    /// The JSON kind, for error messages.
    var kind: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array, .floats: "array"
        case .object: "object"
        }
    }
}

/// A strict JSON reader (RFC 8259) for infer request bodies, Foundation only (compiled into
/// `fuzz/request-json` with `OpenInference+Request.swift`).
///
/// The `data` member of each object in the top-level `inputs` array is read into
/// `OIPJSON.floats`; any other value becomes a plain tree. Nesting is capped at
/// `maxDepth` so a body of `[[[[…` cannot exhaust the stack.
struct OIPJSONReader {
    static let maxDepth = 64

    /// Why a body is not the JSON an infer request needs.
    enum Failure: Error, Equatable {
        /// Not JSON; the message says where.
        case syntax(String)
        /// An input's `data` holds something other than numbers.
        case nonNumericData
    }

    private let bytes: UnsafeBufferPointer<UInt8>
    private var i = 0

    /// Parses `body` whole; trailing bytes other than whitespace are an error.
    static func parse(_ body: some ContiguousBytes) throws(Failure) -> OIPJSON {
        let result: Result<OIPJSON, Failure> = body.withUnsafeBytes { raw in
            var reader = OIPJSONReader(bytes: raw.bindMemory(to: UInt8.self))
            do throws(Failure) {
                let value = try reader.value(context: .root, depth: 0)
                reader.skipSpace()
                guard reader.i == reader.bytes.count else { throw reader.syntax("unexpected bytes after the JSON value") }
                return .success(value)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    private init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// Where a value sits: only `inputs[*].data` is read as floats.
    private enum Context { case root, inputs, input, other }

    private func syntax(_ what: String) -> Failure { .syntax("invalid JSON at byte \(i): \(what)") }

    private mutating func skipSpace() {
        while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
    }

    private mutating func expect(_ literal: StaticString) throws(Failure) {
        let n = literal.utf8CodeUnitCount
        guard i + n <= bytes.count, (0..<n).allSatisfy({ bytes[i + $0] == literal.utf8Start[$0] }) else {
            throw syntax("expected '\(literal)'")
        }
        i += n
    }

    private mutating func value(context: Context, depth: Int) throws(Failure) -> OIPJSON {
        guard depth < Self.maxDepth else { throw syntax("nesting deeper than \(Self.maxDepth)") }
        skipSpace()
        guard i < bytes.count else { throw syntax("unexpected end") }
        switch bytes[i] {
        case UInt8(ascii: "{"): return try object(context: context, depth: depth)
        case UInt8(ascii: "["):
            i += 1
            var items: [OIPJSON] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            while true {
                items.append(try value(context: context == .inputs ? .input : .other, depth: depth + 1))
                if try endOfList(closing: UInt8(ascii: "]")) { return .array(items) }
            }
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        default: return .number(try number())
        }
    }

    private mutating func object(context: Context, depth: Int) throws(Failure) -> OIPJSON {
        i += 1
        var members: [String: OIPJSON] = [:]
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
        while true {
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw syntax("expected a member name") }
            let key = try string()
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw syntax("expected ':'") }
            i += 1
            if context == .input && key == "data" {
                var floats: [Float] = []
                skipSpace()
                try data(into: &floats, depth: depth + 1)
                members[key] = .floats(floats)
            } else {
                members[key] = try value(context: context == .root && key == "inputs" ? .inputs : .other, depth: depth + 1)
            }
            if try endOfList(closing: UInt8(ascii: "}")) { return .object(members) }
        }
    }

    /// After a list item: true at the closing bracket, false after a comma.
    private mutating func endOfList(closing: UInt8) throws(Failure) -> Bool {
        skipSpace()
        guard i < bytes.count else { throw syntax("unexpected end") }
        if bytes[i] == closing { i += 1; return true }
        guard bytes[i] == UInt8(ascii: ",") else { throw syntax("expected ',' or '\(UnicodeScalar(closing))'") }
        i += 1
        return false
    }

    /// A tensor's `data`: a number or (nested) arrays of numbers, appended flat to `out`.
    private mutating func data(into out: inout [Float], depth: Int) throws(Failure) {
        guard depth < Self.maxDepth else { throw syntax("nesting deeper than \(Self.maxDepth)") }
        guard i < bytes.count else { throw syntax("unexpected end") }
        if bytes[i] == UInt8(ascii: "[") {
            i += 1
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return }
            while true {
                skipSpace()
                try data(into: &out, depth: depth + 1)
                if try endOfList(closing: UInt8(ascii: "]")) { return }
            }
        }
        let c = bytes[i]
        guard c == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) else {
            // Still JSON? Then the data is simply not numeric.
            _ = try value(context: .other, depth: depth)
            throw .nonNumericData
        }
        out.append(Float(try number()))
    }

    /// A JSON number (strict grammar: no `+`, leading zeros, `.5`, `inf` or hex).
    private mutating func number() throws(Failure) -> Double {
        let start = i
        func digits() -> Int {
            let s = i
            while i < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) { i += 1 }
            return i - s
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
        let intStart = i
        let intDigits = digits()
        guard intDigits > 0 else { throw syntax("expected a value") }
        guard intDigits == 1 || bytes[intStart] != UInt8(ascii: "0") else { throw syntax("leading zero in a number") }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            guard digits() > 0 else { throw syntax("expected digits after '.'") }
        }
        if i < bytes.count, (bytes[i] | 0x20) == UInt8(ascii: "e") {
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard digits() > 0 else { throw syntax("expected digits in the exponent") }
        }
        let length = i - start
        // strtod needs a terminated copy; numbers are short, so this is a stack buffer.
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: length + 1) { buffer in
            for k in 0..<length { buffer[k] = CChar(bitPattern: bytes[start + k]) }
            buffer[length] = 0
            return strtod(buffer.baseAddress!, nil)
        }
    }

    /// A JSON string with its escapes resolved; it must be valid UTF-8.
    private mutating func string() throws(Failure) -> String {
        i += 1
        var out: [UInt8] = []
        while true {
            guard i < bytes.count else { throw syntax("unterminated string") }
            let c = bytes[i]
            i += 1
            switch c {
            case UInt8(ascii: "\""):
                guard let s = String(validating: out, as: UTF8.self) else { throw syntax("string is not UTF-8") }
                return s
            case UInt8(ascii: "\\"):
                guard i < bytes.count else { throw syntax("unterminated string") }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"): out += try unicodeEscape()
                default: throw syntax("invalid escape")
                }
            case 0..<0x20: throw syntax("control character in a string")
            default: out.append(c)
            }
        }
    }

    /// The UTF-8 bytes of a `\uXXXX` escape (after the `u`), joining surrogate pairs.
    private mutating func unicodeEscape() throws(Failure) -> [UInt8] {
        func hex4() throws(Failure) -> UInt32 {
            guard i + 4 <= bytes.count else { throw syntax("short \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                guard let d = Character(UnicodeScalar(bytes[i])).hexDigitValue else { throw syntax("invalid \\u escape") }
                v = v * 16 + UInt32(d)
                i += 1
            }
            return v
        }
        var code = try hex4()
        if (0xD800..<0xDC00).contains(code) {
            guard i + 2 <= bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                throw syntax("unpaired surrogate")
            }
            i += 2
            let low = try hex4()
            guard (0xDC00..<0xE000).contains(low) else { throw syntax("unpaired surrogate") }
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00..<0xE000).contains(code) {
            throw syntax("unpaired surrogate")
        }
        return Array(String(Character(UnicodeScalar(code)!)).utf8)
    }
}
