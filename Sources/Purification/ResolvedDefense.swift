/// A request's defense, resolved once against one model: the validated options and the
/// purifier built from them. The route that reports the purifier's name and settings and the
/// inference thread that runs it share this value, so the purifier is built once per request.
public struct ResolvedDefense: Sendable {
    public let options: DefenseOptions
    public let purifier: any Purifier

    /// Validates `options` and builds the purifier they ask for from `model`'s files.
    public init(model: DefendedModel, options: DefenseOptions) throws(PurificationError) {
        self.options = options
        self.purifier = try model.purifier(for: options)
    }

    /// The purifier's kind, which selects the flagging threshold.
    public var kind: PurifierKind { purifier.kind }

    /// The name replies and metrics show: "none", "jpeg", "vae", "patch-vae".
    public var name: String { purifier.kind.rawValue }

    /// The settings a reply reports: the purifier's own, then the request's (samples, seed, …).
    public var reportedSettings: [String: String] {
        purifier.settings.merging(options.reported) { own, _ in own }
    }
}
