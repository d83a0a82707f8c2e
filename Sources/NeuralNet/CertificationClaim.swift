/// One measured randomized-smoothing certification of a classifier (Cohen et al.'s CERTIFY on
/// test images), kept in its model file so that the model card (docs/MODELS.md) and
/// `GET /v1/models` state the certified accuracy a `certify=true` request can expect, and how it
/// was measured. Written from a `vaeguard evaluate certify` run by
/// `scripts/record-certification.py`, never by hand.
public struct CertificationClaim: Codable, Equatable, Sendable {
    /// Noise level σ of the smoothing (pixel units, images in [0, 1]).
    public var sigma: Float
    /// Samples that estimate p_A, and that select the class.
    public var n: Int
    public var n0: Int
    /// Failure probability of each certificate.
    public var alpha: Double
    /// The denoiser D before the classifier ("none", "vae", "patch-vae").
    public var denoiser: String
    /// Test images certified, and how many of them CERTIFY abstained on.
    public var images: Int
    public var abstained: Int
    /// Certified accuracy (fraction in [0, 1] of the images labelled correctly with a radius ≥ r)
    /// at each L2 radius r of `radii`, same order.
    public var radii: [Double]
    public var certifiedAccuracy: [Double]
    /// The command that measured it.
    public var command: String

    public init(sigma: Float, n: Int, n0: Int, alpha: Double, denoiser: String, images: Int, abstained: Int,
                radii: [Double], certifiedAccuracy: [Double], command: String) {
        self.sigma = sigma
        self.n = n
        self.n0 = n0
        self.alpha = alpha
        self.denoiser = denoiser
        self.images = images
        self.abstained = abstained
        self.radii = radii
        self.certifiedAccuracy = certifiedAccuracy
        self.command = command
    }
}
