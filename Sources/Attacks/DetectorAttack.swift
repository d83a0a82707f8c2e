import Foundation
import Engine
import NeuralNet
import Purification

/// The classifier and the reconstruction-error flag attacked together: ascend
///
///     J(x) = CE(f(p(x)), y) − λ · max(0, s(x)/τ − κ),   s(x) = mean((x − p(x))²)
///
/// through the purifier p with exact gradients (`DifferentiablePurifier`) and EOT over its
/// noise, so the attack fools the classifier while keeping the score under the threshold τ
/// (κ < 1 leaves a margin for the noise of the deployed single draw).
/// `∂s/∂x = (2/d)(x − p) − pullback((2/d)(x − p))`, folded into the classifier's pullback.
public struct DetectorAwareTarget: AttackTarget {
    public let classifier: Sequential
    public let purifier: any DifferentiablePurifier
    public let threshold: Float
    public let weight: Float
    public let margin: Float
    public let eotSamples: Int

    public init(model: DefendedModel, options: DefenseOptions, threshold: Float, weight: Float = 10, margin: Float = 0.9,
                eotSamples: Int) throws(AttackError) {
        let purifier: any Purifier
        do { purifier = try model.purifier(for: options) } catch { throw .unavailable(error.description) }
        guard let differentiable = purifier as? any DifferentiablePurifier else {
            throw .unavailable("the detector attack needs an exact gradient through '\(options.purifier.rawValue)'")
        }
        guard threshold > 0, threshold.isFinite else { throw .invalidSpec("detector threshold must be a positive number") }
        guard eotSamples >= 1 else { throw .invalidSpec("EOT samples must be ≥ 1") }
        self.classifier = model.classifier
        self.purifier = differentiable
        self.threshold = threshold
        self.weight = weight
        self.margin = margin
        self.eotSamples = eotSamples
    }

    public func lossGradient(_ x: Tensor, loss: AttackLoss, labels: [Int], rng: inout RandomSource)
        -> (logits: Tensor, losses: [Float], gradient: Tensor) {
        let n = x.batchSize, size = x.itemCount
        var logitsSum: Tensor?
        var values = [Float](repeating: 0, count: n)
        var gradient = Tensor(shape: x.shape)
        for _ in 0..<eotSamples {
            let (r, pullback): (Tensor, @Sendable (Tensor) -> Tensor)
            do { (r, pullback) = try purifier.purifyWithPullback(x, rng: &rng) } catch {
                preconditionFailure("purifier failed on attack input: \(error)")
            }
            var context = ForwardContext(training: false, rng: rng.split(), recordsCache: true)
            let (z, caches) = classifier.forward(r, context: &context)
            let (ce, gz) = loss.evaluate(logits: z, labels: labels)
            var gr = classifier.backward(gz, caches: caches, gradients: nil)
            let scores = DefendedModel.reconstructionErrors(x, r)
            var direct = Tensor(shape: x.shape)   // −λ/τ · ∂s/∂x through x itself
            for i in 0..<n {
                let over = scores[i] / threshold - margin
                values[i] += ce[i] - (over > 0 ? weight * over : 0)
                guard over > 0 else { continue }
                let c = weight / threshold * 2 / Float(size)
                for j in (i * size)..<((i + 1) * size) {
                    let diff = x.storage[j] - r.storage[j]
                    direct.storage[j] = -c * diff
                    gr.storage[j] += c * diff      // −λ/τ · (−(2/d)(x − p)) through p
                }
            }
            gradient.add(pullback(gr))
            gradient.add(direct)
            if logitsSum == nil { logitsSum = z } else { logitsSum!.add(z) }
        }
        let inv = 1 / Float(eotSamples)
        var logits = logitsSum!
        logits.scale(by: inv)
        gradient.scale(by: inv)
        return (logits, values.map { $0 * inv }, gradient)
    }
}

/// PGD on `DetectorAwareTarget`, keeping per image the first iterate that the deployed defense
/// (one purifier draw) both misclassifies and leaves unflagged. It starts at the clean image,
/// not at a random point: a random start in a large ball begins far above the threshold (a
/// first smoke run did worse at ε = 0.3 than at 0.1 that way).
public struct DetectorAttack: Sendable {
    public var attack: LinfAttack

    public init(epsilon: Float, steps: Int, stepFactor: Float = 2.5) {
        attack = LinfAttack(epsilon: epsilon, steps: steps, stepSize: stepFactor * epsilon / Float(max(1, steps)), randomStart: false)
    }

    /// Returns the adversarial images and, per image, whether it got past both the classifier
    /// and the flag (score ≤ `target.threshold`).
    public func perturb(_ x: Tensor, labels: [Int], target: DetectorAwareTarget, model: DefendedModel, options: DefenseOptions,
                        rng: inout RandomSource) throws(AttackError) -> (adversarial: Tensor, passed: [Bool]) {
        let n = x.batchSize, size = x.itemCount
        var adv = x
        var result = x
        var passed = [Bool](repeating: false, count: n)
        for _ in 0..<attack.steps {
            let g = target.lossGradient(adv, loss: .crossEntropy, labels: labels, rng: &rng).gradient
            for i in 0..<adv.count { adv.storage[i] += g.storage[i] > 0 ? attack.stepSize : (g.storage[i] < 0 ? -attack.stepSize : 0) }
            LinfAttack.project(&adv, around: x, epsilon: attack.epsilon)
            let verdicts: [DefendedModel.Result]
            do { verdicts = try model.classify(adv, options: options, rng: &rng) } catch { throw .unavailable("\(error)") }
            for (i, v) in verdicts.enumerated() where !passed[i] {
                let predicted = v.probabilities.indices.max { v.probabilities[$0] < v.probabilities[$1] }!
                guard predicted != labels[i], v.reconstructionError <= target.threshold else { continue }
                passed[i] = true
                result.storage.replaceSubrange((i * size)..<((i + 1) * size), with: adv.storage[(i * size)..<((i + 1) * size)])
            }
        }
        for i in 0..<n where !passed[i] {
            result.storage.replaceSubrange((i * size)..<((i + 1) * size), with: adv.storage[(i * size)..<((i + 1) * size)])
        }
        return (result, passed)
    }
}
