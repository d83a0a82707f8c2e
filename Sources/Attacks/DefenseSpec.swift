import NeuralNet
import Purification

/// One defense of the grid, parsed from the command line:
/// `none`, `jpeg:Q`, `vae`, `vae:k=5`, `vae:mean`, `vae:k=5:probs`, `patch-vae`,
/// `patch-vae:stride=4`, `patch-vae:k=3:mean` (options separated by `:`, any order).
public struct DefenseSpec: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The canonical name used in results (`jpeg:23`, `vae:k=5`, …).
    public let name: String
    /// The purifier settings this name stands for.
    public let options: DefenseOptions

    public var description: String { name }

    public init(parsing text: String) throws(AttackError) {
        let parts = text.split(separator: ":").map { String($0).trimmingCharacters(in: .whitespaces) }
        guard let head = parts.first, let kind = PurifierKind(rawValue: head) else {
            throw .invalidSpec("unknown defense '\(text)' (none, jpeg:Q, vae[:k=K][:mean][:probs], patch-vae[:stride=S][:k=K][:mean])")
        }
        var o = DefenseOptions(purifier: kind)
        var name = head
        for p in parts.dropFirst() {
            if kind == .jpeg, let q = Int(p) {
                o.jpegQuality = q
            } else if p.hasPrefix("k="), let k = Int(p.dropFirst(2)), kind == .vae || kind == .patchVAE {
                o.samples = k
            } else if p.hasPrefix("stride="), let s = Int(p.dropFirst(7)), kind == .patchVAE {
                o.patchStride = s
            } else if p == "mean", kind == .vae || kind == .patchVAE {
                o.sampling = .mean
            } else if p == "probs", kind == .vae || kind == .patchVAE {
                o.ensemble = .probabilities
            } else {
                throw .invalidSpec("unknown option '\(p)' in defense '\(text)'")
            }
        }
        do { try o.validate() } catch { throw .invalidSpec("\(text): \(error)") }
        if kind == .jpeg { name += ":\(o.jpegQuality)" }
        if let s = o.patchStride { name += ":stride=\(s)" }
        if o.samples > 1 { name += ":k=\(o.samples)" }
        if o.sampling == .mean { name += ":mean" }
        if o.ensemble == .probabilities && o.samples > 1 { name += ":probs" }
        self.name = name
        self.options = o
    }

    /// Parses a comma-separated list.
    public static func parseList(_ text: String) throws(AttackError) -> [DefenseSpec] {
        var out: [DefenseSpec] = []
        for part in text.split(separator: ",") where !part.trimmingCharacters(in: .whitespaces).isEmpty {
            out.append(try DefenseSpec(parsing: String(part)))
        }
        return out
    }

    public var kind: PurifierKind { options.purifier }
    /// Whether the defense draws noise (the VAE purifiers in `sample` mode).
    public var isStochastic: Bool { (kind == .vae || kind == .patchVAE) && options.sampling == .sample }
}

extension DefenseSpec {
    /// Stored as its canonical name, parsed back on decoding.
    public init(from decoder: any Decoder) throws {
        self = try DefenseSpec(parsing: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(name)
    }

    public static func == (a: DefenseSpec, b: DefenseSpec) -> Bool { a.name == b.name }
    public func hash(into h: inout Hasher) { h.combine(name) }
}
