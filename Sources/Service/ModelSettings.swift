import Purification

/// The settings a request to one model starts from when it names none: resolved in one
/// place from the model's configuration entry, the global `purification` section and the
/// purifiers the model actually loaded, so `/v1/classify`, `/v1/purify`, `/v2/.../infer`
/// and the listing at `/v1/models` can never disagree (they did: v2 used the global
/// default purifier, v1 the entry's).
struct EffectiveModelSettings: Equatable {
    /// The purifier used when a request names none.
    var defaultPurifier: PurifierKind
    var jpegQuality: Int
    /// Patch stride in pixels; nil = half the patch size.
    var patchStride: Int?

    /// `available`: the purifiers the loaded model has; nil before it is loaded (then the
    /// configured default is taken as it is).
    init(model: String, configuration: ServiceConfiguration, available: [PurifierKind]? = nil) {
        let entry = configuration.models.entries.first { $0.name == model }
        var purifier = entry?.defaultPurifier ?? configuration.purification.defaultPurifier
        if let available, !available.contains(purifier) {
            // The configured default's VAE file is not shipped: the first of these it has.
            purifier = [PurifierKind.vae, .patchVAE, .jpeg].first { available.contains($0) } ?? .none
        }
        defaultPurifier = purifier
        jpegQuality = configuration.purification.jpegQuality
        patchStride = configuration.purification.patchStride
    }

    init(_ model: DefendedModel, configuration: ServiceConfiguration) {
        self.init(model: model.name, configuration: configuration, available: model.availablePurifiers)
    }
}
