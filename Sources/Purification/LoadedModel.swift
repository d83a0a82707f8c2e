/// A defended model as `ModelLoader` built it, with what identifies it and what it lacks.
public struct LoadedModel: Sendable {
    /// A purifier left out because its VAE file is not in the models folder.
    public struct MissingPurifier: Sendable, Equatable {
        public let kind: PurifierKind
        /// The model name that was looked for.
        public let file: String
    }

    public let model: DefendedModel
    /// What identifies the model's files, by role ("classifier", "vae", "patchVAE"):
    /// `name@version sha256:…` of each, not paths, so a moved checkout still matches (a
    /// resumable evaluation run compares it).
    public let fingerprint: [String: String]
    public let missing: [MissingPurifier]
    /// One line naming each file loaded and where it came from, for logs.
    public let description: String
}
