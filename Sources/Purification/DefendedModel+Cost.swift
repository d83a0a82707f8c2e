import NeuralNet

/// What a request would cost, computed from image sizes and options before any work starts,
/// so the service can refuse work it would not finish in reasonable time.
extension DefendedModel {
    /// Operations per pixel and channel charged for a JPEG round trip (colour conversion,
    /// DCT, quantisation and back), a generous estimate.
    static let jpegFLOPsPerValue = 200.0

    /// Floating-point operations to purify one `height`×`width` image with `options`
    /// (all `samples`). `.vae` counts one pass at the model's input size (other sizes are
    /// resized to it first); `.patchVAE` counts one pass per patch of the image's grid.
    public func purificationFLOPs(height: Int, width: Int, options: DefenseOptions) throws(PurificationError) -> Double {
        let channels = Double(inputShape[2])
        let perSample: Double
        switch options.purifier {
        case .none:
            perSample = 0
        case .jpeg:
            perSample = Self.jpegFLOPsPerValue * Double(height) * Double(width) * channels
        case .vae:
            guard let vae else { throw .unavailable("model '\(name)' has no whole-image VAE") }
            perSample = vae.forwardFLOPs
        case .patchVAE:
            guard let patchVAE else { throw .unavailable("model '\(name)' has no patch VAE") }
            let patch = patchVAE.inputShape[0]
            let stride = options.patchStride ?? max(1, patch / 2)
            guard stride >= 1, stride <= patch else { throw .invalidOption("stride \(stride) must be in 1…\(patch)") }
            let patches = Self.patchCount(height, patch: patch, stride: stride) * Self.patchCount(width, patch: patch, stride: stride)
            perSample = patches * patchVAE.forwardFLOPs
        }
        return perSample * Double(options.samples)
    }

    /// Operations to purify and classify `count` images of the classifier's input size.
    public func classificationFLOPs(count: Int, options: DefenseOptions) throws(PurificationError) -> Double {
        let purify = try purificationFLOPs(height: inputShape[0], width: inputShape[1], options: options)
        let classifierPasses = options.ensemble == .probabilities ? Double(options.samples) : 1
        return Double(count) * (purify + classifierPasses * classifier.forwardFLOPs)
    }

    /// Patches along one axis, as `PatchGrid` lays them out (without building the list).
    static func patchCount(_ length: Int, patch: Int, stride: Int) -> Double {
        guard length > patch else { return 1 }
        return Double((length - patch + stride - 1) / stride + 1)
    }
}
