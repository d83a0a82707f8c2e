// MARK: - HTTPHeaders

/// An ordered list of header fields with case-insensitive name lookup.
///
/// Order and repetition are preserved because they matter for framing checks
/// (two `Content-Length` fields) and for faithful logging; lookups compare names
/// ASCII-case-insensitively as RFC 9110 §5.1 requires, without allocating.
public struct HTTPHeaders: Sendable, Sequence, ExpressibleByDictionaryLiteral, CustomStringConvertible {
    public typealias Field = (name: String, value: String)

    private var fields: [Field]

    public init() { fields = [] }

    public init(_ fields: [Field]) { self.fields = fields }

    public init(dictionaryLiteral elements: (String, String)...) {
        fields = elements.map { (name: $0.0, value: $0.1) }
    }

    // MARK: - Lookup

    /// The first value for `name`, or `nil`. Setting replaces every field of that name;
    /// setting `nil` removes them.
    public subscript(name: String) -> String? {
        get { fields.first { Self.equalsIgnoringCase($0.name, name) }?.value }
        set {
            remove(name)
            if let newValue { fields.append((name: name, value: newValue)) }
        }
    }

    /// All values for `name`, in the order received.
    public func values(for name: String) -> [String] {
        fields.filter { Self.equalsIgnoringCase($0.name, name) }.map(\.value)
    }

    public func contains(_ name: String) -> Bool {
        fields.contains { Self.equalsIgnoringCase($0.name, name) }
    }

    /// Whether a comma-separated list header (`Connection`, `Transfer-Encoding`)
    /// contains `token`, compared case-insensitively.
    public func containsToken(_ token: String, in name: String) -> Bool {
        for value in values(for: name) {
            for element in value.split(separator: ",") {
                let trimmed = element.trimmingOWS()
                if Self.equalsIgnoringCase(trimmed, token) { return true }
            }
        }
        return false
    }

    // MARK: - Mutation

    /// Appends a field, keeping any existing fields with the same name.
    public mutating func add(name: String, value: String) {
        fields.append((name: name, value: value))
    }

    public mutating func remove(_ name: String) {
        fields.removeAll { Self.equalsIgnoringCase($0.name, name) }
    }

    public var count: Int { fields.count }
    public var isEmpty: Bool { fields.isEmpty }

    public func makeIterator() -> IndexingIterator<[Field]> { fields.makeIterator() }

    public var description: String {
        "[" + fields.map { "\($0.name): \($0.value)" }.joined(separator: ", ") + "]"
    }

    // MARK: - Case-insensitive comparison

    /// ASCII case-insensitive equality; header names are tokens, so ASCII folding is exact.
    @inlinable
    static func equalsIgnoringCase<A: StringProtocol, B: StringProtocol>(_ a: A, _ b: B) -> Bool {
        let au = a.utf8, bu = b.utf8
        guard au.count == bu.count else { return false }
        var bi = bu.makeIterator()
        for x in au {
            guard let y = bi.next() else { return false }
            if x != y && (x | 0x20) != (y | 0x20) { return false }
            if x != y && !((x | 0x20) >= 0x61 && (x | 0x20) <= 0x7A) { return false }
        }
        return true
    }
}

// MARK: - Helpers

extension StringProtocol {
    /// Trims optional whitespace (SP / HTAB) as defined by RFC 9110 §5.6.3.
    func trimmingOWS() -> Substring {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }
}
