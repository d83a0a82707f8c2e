/// One measured robustness result for a classifier, kept in its model file so that the model
/// card (docs/MODELS.md) and `GET /v1/models` state what the model was measured to withstand,
/// and under which attack suite. Written from an evaluation's results by
/// `scripts/record-robustness.py`, never by hand.
public struct RobustnessClaim: Codable, Equatable, Sendable {
    /// The perturbation set, e.g. "linf".
    public var norm: String
    public var epsilon: Float
    /// The purifier in front of the classifier ("none", "vae", "patch-vae", "jpeg:23").
    public var defense: String
    /// "oblivious" (attacks the bare classifier) or "adaptive" (attacks through the purifier).
    public var attacker: String
    /// The attacks, and how their results combine (e.g. the per-image worst case).
    public var suite: String
    /// Test images evaluated (the first N of the test set).
    public var images: Int
    /// Fractions in [0, 1] on those images.
    public var cleanAccuracy: Double
    public var robustAccuracy: Double
    /// The command that measured it.
    public var command: String

    public init(norm: String, epsilon: Float, defense: String, attacker: String, suite: String, images: Int,
                cleanAccuracy: Double, robustAccuracy: Double, command: String) {
        self.norm = norm
        self.epsilon = epsilon
        self.defense = defense
        self.attacker = attacker
        self.suite = suite
        self.images = images
        self.cleanAccuracy = cleanAccuracy
        self.robustAccuracy = robustAccuracy
        self.command = command
    }
}
