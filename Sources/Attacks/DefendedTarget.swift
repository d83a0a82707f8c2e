import Engine
import NeuralNet
import Purification

/// The whole defended pipeline (purifier → classifier) as an attack target: the adaptive
/// threat models.
///
/// - `exact` backward differentiates through the purifier (`DifferentiablePurifier`): for the
///   whole-image and the patch VAE that is classifier backward → the purifier's pullback, with
///   the noise ε of that forward pass held fixed; for `none` it is the classifier gradient.
///   JPEG has no exact backward here (quantisation is piecewise constant).
/// - `identity` backward is BPDA (Athalye et al. 2018): the forward pass runs the real
///   purifier, the backward pass treats it as the identity, `∂f(p(x))/∂x ≈ ∇f(p(x))`.
///
/// Stochastic purifiers (VAE / patch VAE in `sample` mode) are attacked with Expectation over
/// Transformation: `eotSamples` independent forward/backward passes with fresh noise, whose
/// gradients, losses and logits are averaged. A K-sample defense (`options.samples`) is
/// reproduced inside every EOT draw: K reconstructions averaged before the classifier
/// (`reconstructions` ensemble, exact gradient of the average) or K classifier passes whose
/// gradients are averaged (`probabilities` ensemble).
public struct DefendedTarget: AttackTarget {
    public enum Backward: String, Sendable, Codable { case exact, identity }

    public let classifier: Sequential
    public let purifier: any Purifier
    public let options: DefenseOptions
    public let backward: Backward
    public let eotSamples: Int

    /// - Parameters:
    ///   - model: the classifier and its purifiers.
    ///   - options: the defense being attacked (purifier kind, K samples, ensemble, sampling).
    ///   - backward: `exact` (through the VAE) or `identity` (BPDA).
    ///   - eotSamples: EOT draws per gradient (ignored for deterministic purifiers).
    public init(model: DefendedModel, options: DefenseOptions, backward: Backward, eotSamples: Int) throws(AttackError) {
        do {
            purifier = try model.purifier(for: options)
        } catch {
            throw .unavailable(error.description)
        }
        if backward == .exact, !(purifier is any DifferentiablePurifier) {
            throw .unavailable("no exact gradient through '\(options.purifier.rawValue)'; use BPDA (adaptive-bpda)")
        }
        guard eotSamples >= 1 else { throw .invalidSpec("EOT samples must be ≥ 1") }
        self.classifier = model.classifier
        self.options = options
        self.backward = backward
        self.eotSamples = eotSamples
    }

    /// Whether two passes on the same input can differ (VAE noise).
    public var isStochastic: Bool {
        (options.purifier == .vae || options.purifier == .patchVAE) && options.sampling == .sample
    }

    /// EOT draws actually used: one for a deterministic pipeline.
    public var effectiveEOTSamples: Int { isStochastic ? eotSamples : 1 }

    public func lossGradient(_ x: Tensor, loss: AttackLoss, labels: [Int], rng: inout RandomSource)
        -> (logits: Tensor, losses: [Float], gradient: Tensor) {
        let draws = effectiveEOTSamples
        let k = isStochastic ? options.samples : 1
        var logitsSum: Tensor?
        var lossSum = [Float](repeating: 0, count: x.batchSize)
        var gradSum = Tensor(shape: x.shape)
        let exact = backward == .exact ? purifier as? any DifferentiablePurifier : nil
        for _ in 0..<draws {
            // K purified samples; with an exact backward each keeps its pullback (BPDA: none).
            var pullbacks: [@Sendable (Tensor) -> Tensor] = []
            var recons: [Tensor] = []
            for _ in 0..<k {
                do {
                    if let exact {
                        let (r, pullback) = try exact.purifyWithPullback(x, rng: &rng)
                        recons.append(r)
                        pullbacks.append(pullback)
                    } else {
                        recons.append(try purifier.purify(x, rng: &rng))
                    }
                } catch {
                    preconditionFailure("purifier failed on attack input: \(error)")
                }
            }
            if options.ensemble == .reconstructions || k == 1 {
                var r = recons[0]
                for extra in recons.dropFirst() { r.add(extra) }
                if k > 1 { r.scale(by: 1 / Float(k)) }
                let (z, values, gr) = classifierGradient(r, loss: loss, labels: labels, rng: &rng)
                accumulate(&logitsSum, z)
                for i in 0..<values.count { lossSum[i] += values[i] }
                if pullbacks.isEmpty {
                    gradSum.add(gr)
                } else {
                    var share = gr
                    share.scale(by: 1 / Float(k))
                    for pullback in pullbacks { gradSum.add(pullback(share)) }
                }
            } else {
                for (j, r) in recons.enumerated() {
                    let (z, values, gr) = classifierGradient(r, loss: loss, labels: labels, rng: &rng)
                    var zs = z
                    zs.scale(by: 1 / Float(k))
                    accumulate(&logitsSum, zs)
                    for i in 0..<values.count { lossSum[i] += values[i] / Float(k) }
                    var g = pullbacks.isEmpty ? gr : pullbacks[j](gr)
                    g.scale(by: 1 / Float(k))
                    gradSum.add(g)
                }
            }
        }
        let inv = 1 / Float(draws)
        var logits = logitsSum!
        logits.scale(by: inv)
        gradSum.scale(by: inv)
        return (logits, lossSum.map { $0 * inv }, gradSum)
    }

    private func classifierGradient(_ r: Tensor, loss: AttackLoss, labels: [Int], rng: inout RandomSource)
        -> (Tensor, [Float], Tensor) {
        var context = ForwardContext(training: false, rng: rng.split(), recordsCache: true)
        let (z, caches) = classifier.forward(r, context: &context)
        let (values, gz) = loss.evaluate(logits: z, labels: labels)
        return (z, values, classifier.backward(gz, caches: caches, gradients: nil))
    }

    private func accumulate(_ sum: inout Tensor?, _ t: Tensor) {
        if sum == nil { sum = t } else { sum!.add(t) }
    }
}
