import Engine
import Imaging

/// Purifies one decoded image of any size with a model's purifier, resolved once: the
/// whole-image VAE only takes the size it was trained on, so other sizes are resized to the
/// model's input and the result back to the image's size; every other purifier (the patch
/// VAE, JPEG, none) runs over the full image at its own resolution. The service's
/// `/v1/purify` and the `vaeguard purify` command both purify through this.
public struct ImagePurifier: Sendable {
    public let model: DefendedModel
    public let defense: ResolvedDefense

    public init(model: DefendedModel, defense: ResolvedDefense) {
        self.model = model
        self.defense = defense
    }

    /// Resolves `options` against `model` (validated, purifier built).
    public init(model: DefendedModel, options: DefenseOptions) throws(PurificationError) {
        self.init(model: model, defense: try ResolvedDefense(model: model, options: options))
    }

    /// Whether an image of `width`×`height` is resized to the model's input to be purified.
    public func resizes(width: Int, height: Int) -> Bool {
        Self.resizes(width: width, height: height, kind: defense.kind, model: model)
    }

    /// The size the purifier works at for an image of `width`×`height`.
    public func workingSize(width: Int, height: Int) -> (height: Int, width: Int) {
        Self.workingSize(width: width, height: height, kind: defense.kind, model: model)
    }

    /// Whether `kind` resizes an image of `width`×`height` to `model`'s input: only the
    /// whole-image VAE does, and only at another size.
    public static func resizes(width: Int, height: Int, kind: PurifierKind, model: DefendedModel) -> Bool {
        kind == .vae && (width != model.inputShape[1] || height != model.inputShape[0])
    }

    /// The size `kind` works at for an image of `width`×`height`, for pricing a request
    /// before its purifier is built.
    public static func workingSize(width: Int, height: Int, kind: PurifierKind, model: DefendedModel) -> (height: Int, width: Int) {
        resizes(width: width, height: height, kind: kind, model: model) ? (model.inputShape[0], model.inputShape[1]) : (height, width)
    }

    /// The purified image, the same size as `image` with the model's channels, and its
    /// reconstruction error (mean squared input–output difference at the working size).
    /// Noise comes from `rng` (one per request).
    public func purify(_ image: Image, rng: inout RandomSource) throws(PurificationError) -> (image: Image, score: Float) {
        let resize = resizes(width: image.width, height: image.height)
        let input: Tensor
        do { input = resize ? try image.tensor(shape: model.inputShape) : try image.tensor(channels: model.inputShape[2]) } catch {
            throw .codec(error.description)
        }
        let r = try model.purify(input, defense: defense, rng: &rng)
        do {
            var result = try Image(tensor: r.images)
            if resize { result = try result.resized(width: image.width, height: image.height) }
            return (result, r.scores[0])
        } catch {
            throw .codec(error.description)
        }
    }

    /// `purify(_:rng:)` with the request's seed, or fresh randomness when it has none.
    public func purify(_ image: Image) throws(PurificationError) -> (image: Image, score: Float) {
        var rng = defense.options.seed.map(RandomSource.init(seed:)) ?? .fresh()
        return try purify(image, rng: &rng)
    }

    /// Whether `score` is above the model's flagging threshold for this purifier.
    public func isSuspected(_ score: Float) -> Bool { score > model.threshold(for: defense.kind) }

    /// The purifier for a request that named none, for an image of `width`×`height`:
    /// `preferred` at the model's input size, `otherSizes` at any other; one the model lacks
    /// falls back to the first of patch-vae, vae, jpeg it has.
    public static func defaultKind(width: Int, height: Int, model: DefendedModel, preferred: PurifierKind,
                                   otherSizes: PurifierKind) -> PurifierKind {
        let sameSize = width == model.inputShape[1] && height == model.inputShape[0]
        let kind = sameSize ? preferred : otherSizes
        if model.availablePurifiers.contains(kind) { return kind }
        return [PurifierKind.patchVAE, .vae, .jpeg].first { model.availablePurifiers.contains($0) } ?? .none
    }
}

