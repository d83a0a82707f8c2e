import Engine
import NeuralNet
import Purification

/// One image attacked white-box on the bare classifier (labels = its own prediction), rounded
/// to 8-bit, then purified and classified: the three panels `POST /v1/attack` shows.
/// Each panel's reconstruction error is the score that image itself gets from the chosen
/// purifier, i.e. what `/v1/classify` would report for it.
public struct AttackDemonstration: Sendable {
    public var adversarial: Tensor
    public var purified: Tensor
    /// The bare classifier on the original and the adversarial image.
    public var originalProbabilities: [Float]
    public var adversarialProbabilities: [Float]
    /// The defended pipeline (purify, then classify) on the adversarial image.
    public var purifiedProbabilities: [Float]
    public var originalScore: Float
    public var adversarialScore: Float
    public var purifiedScore: Float
    public var attackTime: Duration
    public var defenseTime: Duration

    /// Attacks `x` `[1, H, W, C]` with `attack` (nil: no attack), purifies the result and
    /// classifies all three images. Noise comes from `defense.seed`, or a fresh seed.
    public static func run(_ x: Tensor, attack: LinfAttack?, model: DefendedModel, defense: DefenseOptions)
        throws(PurificationError) -> AttackDemonstration {
        try run(x, attack: attack, model: model, defense: ResolvedDefense(model: model, options: defense))
    }

    /// `run(_:attack:model:defense:)` with the defense the caller resolved (and reports).
    public static func run(_ x: Tensor, attack: LinfAttack?, model: DefendedModel, defense: ResolvedDefense)
        throws(PurificationError) -> AttackDemonstration {
        let clock = ContinuousClock()
        let begin = clock.now
        var rng = defense.options.seed.map(RandomSource.init(seed:)) ?? .fresh()
        var context = ForwardContext.inference(seed: 0)
        let clean = Softmax.apply(model.classifier(x, context: &context)).storage
        let label = clean.indices.max { clean[$0] < clean[$1] } ?? 0
        var adversarial = x
        if let attack {
            adversarial = attack.perturb(x, labels: [label], target: ClassifierTarget(classifier: model.classifier), rng: &rng)
            quantize(&adversarial, around: x, epsilon: attack.epsilon)
        }
        let attacked = clock.now
        let bareAdversarial = Softmax.apply(model.classifier(adversarial, context: &context)).storage
        let results = try model.classify(Tensor.concatenate([x, adversarial]), defense: defense, rng: &rng)
        let purified = Tensor(shape: [1] + model.inputShape, storage: results[1].purified.storage)
        let again = try model.purify(purified, defense: defense, rng: &rng).scores[0]
        return AttackDemonstration(adversarial: adversarial, purified: purified, originalProbabilities: clean,
                                   adversarialProbabilities: bareAdversarial, purifiedProbabilities: results[1].probabilities,
                                   originalScore: results[0].reconstructionError, adversarialScore: results[1].reconstructionError,
                                   purifiedScore: again, attackTime: attacked - begin, defenseTime: clock.now - attacked)
    }

    /// Operations `run` orders: a gradient step costs about three classifier passes (forward
    /// and backward), then the original and adversarial images are purified and classified,
    /// and the purified one purified again to score it.
    public static func flops(steps: Int, model: DefendedModel, defense: DefenseOptions) throws(PurificationError) -> Double {
        let classifier = model.classifier.forwardFLOPs
        let purify = try model.purificationFLOPs(height: model.inputShape[0], width: model.inputShape[1], options: defense)
        return Double(steps) * 3 * classifier + 2 * classifier
            + (try model.classificationFLOPs(count: 2, options: defense)) + purify
    }

    /// Rounds `adv` to 8-bit levels without leaving the ε-ball around `x` (itself 8-bit), so the
    /// PNG of an adversarial image is exactly the image that was purified and classified.
    public static func quantize(_ adv: inout Tensor, around x: Tensor, epsilon: Float) {
        let budget = (epsilon * 255 + 1e-3).rounded(.down)
        for i in 0..<adv.count {
            let o = (x.storage[i] * 255).rounded()
            let q = min(max((adv.storage[i] * 255).rounded(), o - budget), o + budget)
            adv.storage[i] = min(max(q, 0), 255) / 255
        }
    }
}
