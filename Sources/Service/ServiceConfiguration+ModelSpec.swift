import Purification

extension ServiceConfiguration.ModelEntry {
    /// What `ModelLoader` loads for this entry; nil for an entry without a built-in
    /// classifier (one served by an upstream).
    public var spec: ModelSpec? {
        guard let classifier else { return nil }
        return ModelSpec(name: name, classifier: .named(classifier), vae: vae.map { .named($0) },
                         patchVAE: patchVAE.map { .named($0) }, threshold: threshold,
                         purifierThresholds: Dictionary(uniqueKeysWithValues: (purifierThresholds ?? [:])
                             .compactMap { k, v in PurifierKind(rawValue: k).map { ($0, v) } }))
    }
}
