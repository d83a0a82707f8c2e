import Foundation
import Attacks
import Engine
import HTTPServer
import Imaging
import NeuralNet
import Purification

/// The attack `/v1/attack` runs: query parameters `attack`, `eps` and `steps`.
struct AttackOptions: Sendable, Equatable {
    enum Kind: String, CaseIterable, Sendable {
        case none, fgsm, pgd
    }

    var kind: Kind
    /// L∞ radius in pixel units ([0, 1] images).
    var epsilon: Float
    /// Gradient steps (1 for FGSM, 0 for none).
    var steps: Int

    static let defaultEpsilon: Float = 0.1
    static let maxEpsilon: Float = 0.5
    static let defaultPGDSteps = 40
    static let stepRange = 1...100

    init(kind: Kind, epsilon: Float = defaultEpsilon, steps: Int = defaultPGDSteps) {
        self.kind = kind
        self.epsilon = epsilon
        self.steps = steps
    }

    init(query: HTTPQuery) throws(ServiceError) {
        let names = Kind.allCases.map(\.rawValue).joined(separator: ", ")
        let rawKind = query["attack"] ?? Kind.fgsm.rawValue
        guard let kind = Kind(rawValue: rawKind.lowercased()) else {
            throw .badRequest("attack must be one of \(names), got '\(rawKind)'")
        }
        var epsilon = Self.defaultEpsilon
        if let raw = query["eps"] {
            guard let e = Float(raw), e.isFinite, e > 0, e <= Self.maxEpsilon else {
                throw .badRequest("eps must be a number with 0 < eps ≤ \(Self.maxEpsilon) (pixel units, images in [0, 1]), got '\(raw)'")
            }
            epsilon = e
        }
        var steps = Self.defaultPGDSteps
        if let raw = query["steps"] {
            guard let s = Int(raw), Self.stepRange.contains(s) else {
                throw .badRequest("steps must be an integer in \(Self.stepRange.lowerBound)…\(Self.stepRange.upperBound), got '\(raw)'")
            }
            steps = s
        }
        switch kind {
        case .none: self.init(kind: .none, epsilon: 0, steps: 0)
        case .fgsm: self.init(kind: .fgsm, epsilon: epsilon, steps: 1)
        case .pgd: self.init(kind: .pgd, epsilon: epsilon, steps: steps)
        }
    }

    /// The `Attacks` module's attack, nil for `none`.
    var linfAttack: LinfAttack? {
        switch kind {
        case .none: return nil
        case .fgsm: return .fgsm(epsilon: epsilon)
        case .pgd: return .pgd(epsilon: epsilon, steps: steps)
        }
    }
}

/// Reply of `POST /v1/attack` (snake_case on the wire).
struct AttackResponse: Codable, Sendable {
    /// One of the three images with what the service says about it.
    struct Panel: Codable, Sendable {
        /// Base64 PNG at the model's input resolution.
        var image: String
        var predictions: [Prediction]
        /// Mean squared difference between this image and its purification.
        var reconstructionError: Float
        var suspectedAdversarial: Bool
    }

    struct AttackInfo: Codable, Sendable {
        var name: String
        var eps: Float
        var steps: Int
        /// Measured distortion of the (8-bit) adversarial image, pixel units.
        var linf: Float
        var l2: Float
        /// Class the attack pushed away from: the bare classifier's prediction on the original.
        var label: Int
        /// Whether the bare classifier's top-1 changed.
        var fooled: Bool
        /// Whether the purified image's top-1 is the original's top-1 again.
        var recovered: Bool
        var threat: String
    }

    struct AttackTimings: Codable, Sendable {
        var decodeMs: Double
        var queueMs: Double
        var attackMs: Double
        var defenseMs: Double
        var totalMs: Double
    }

    var requestId: String
    var model: ModelInfo
    var purifier: PurifierInfo
    var threshold: Float
    var attack: AttackInfo
    var original: Panel
    var adversarial: Panel
    var purified: Panel
    var timings: AttackTimings
}

extension Routes {
    /// `POST /v1/attack`: attacks the uploaded image white-box against the model's bare
    /// classifier (labels = its own prediction), purifies the adversarial image, and reports
    /// the original, adversarial and purified images with predictions and detector scores.
    static func attack(_ request: HTTPRequest, _ ctx: ServiceContext) async throws -> HTTPResponse {
        let clock = ContinuousClock()
        let start = clock.now
        let options = try RequestOptions(query: request.query, configuration: ctx.configuration)
        let attack = try AttackOptions(query: request.query)
        if let entry = ctx.configuration.models.entries.first(where: { $0.name == options.model }), entry.upstream != nil {
            throw ServiceError.badRequest("model '\(options.model)' is served by an upstream classifier; "
                + "/v1/attack needs a built-in classifier to differentiate")
        }
        let model = try ctx.registry.model(named: options.model)
        let purifier: any Purifier
        do { purifier = try model.purifier(for: options.defense) } catch { throw ServiceError.from(error) }
        let topK = request.query["top_k"] == nil ? 3 : options.topK
        let maxPixels = ctx.configuration.purification.maxImagePixels
        let probed = try await ctx.cpu.run { try ImageInput.probedUploads(request, maxImages: 1, maxPixels: maxPixels)[0] }
        let defense = options.defense
        try ctx.checkCost("\(attack.steps) attack step(s), then 3 purifications × \(defense.samples) sample(s) of "
                          + defense.purifier.rawValue) { () throws(PurificationError) in
            try attackFLOPs(attack, model: model, defense: defense)
        }
        let shape = model.inputShape
        let lease = try ctx.reservePixels(ImageInput.heldBytes(probed.info, channels: shape[2], purified: false))
        let x = try await ctx.cpu.run { () throws -> Tensor in
            try ImageInput.modelInput(try ImageInput.decode(probed.upload.bytes, maxPixels: maxPixels), shape: shape)
        }
        withExtendedLifetime(lease) {}
        let decoded = clock.now
        let outcome = try await ctx.scheduler.run { () throws -> AttackOutcome in
            try runAttack(x, attack: attack, model: model, defense: defense, submitted: decoded)
        }
        ctx.metrics.stage("attack", model: model.name, duration: outcome.attackTime)
        ctx.metrics.purified(model: model.name, purifier: purifier.kind.rawValue)

        func panel(_ t: Tensor, _ probabilities: [Float], _ score: Float) throws -> AttackResponse.Panel {
            let png: [UInt8]
            do { png = try ImageInput.image(t).pngData() } catch { throw ServiceError.internalError("encoding a PNG failed: \(error)") }
            return AttackResponse.Panel(image: Data(png).base64EncodedString(),
                                        predictions: Self.top(probabilities, labels: model.labels, k: topK),
                                        reconstructionError: score, suspectedAdversarial: score > model.threshold(for: purifier.kind))
        }
        let distortion = Distortion(original: x, adversarial: outcome.adversarial)
        let originalTop = Self.argmax(outcome.originalProbabilities)
        let body = AttackResponse(
            requestId: request.requestID, model: ModelInfo(name: model.name, version: model.version),
            purifier: PurifierInfo(name: purifier.kind.rawValue,
                                   settings: purifier.settings.merging(options.defense.reported) { a, _ in a }),
            threshold: model.threshold(for: purifier.kind),
            attack: .init(name: attack.kind.rawValue, eps: attack.epsilon, steps: attack.steps,
                          linf: Float(distortion.linfMax), l2: Float(distortion.l2Sum), label: originalTop,
                          fooled: Self.argmax(outcome.adversarialProbabilities) != originalTop,
                          recovered: Self.argmax(outcome.purifiedProbabilities) == originalTop,
                          threat: "white-box on the bare classifier, then purified (oblivious)"),
            original: try panel(x, outcome.originalProbabilities, outcome.originalScore),
            adversarial: try panel(outcome.adversarial, outcome.adversarialProbabilities, outcome.adversarialScore),
            purified: try panel(outcome.purified, outcome.purifiedProbabilities, outcome.purifiedScore),
            timings: .init(decodeMs: (decoded - start).milliseconds, queueMs: outcome.queueTime.milliseconds,
                           attackMs: outcome.attackTime.milliseconds, defenseMs: outcome.defenseTime.milliseconds,
                           totalMs: (clock.now - start).milliseconds))
        return try json(body)
    }

    /// Operations `runAttack` orders: a gradient step costs about three classifier passes
    /// (forward and backward), then the original and adversarial images are purified and
    /// classified, and the purified one purified again to score it.
    static func attackFLOPs(_ attack: AttackOptions, model: DefendedModel, defense: DefenseOptions) throws(PurificationError)
        -> Double {
        let classifier = model.classifier.forwardFLOPs
        let purify = try model.purificationFLOPs(height: model.inputShape[0], width: model.inputShape[1], options: defense)
        return Double(attack.steps) * 3 * classifier + 2 * classifier
            + (try model.classificationFLOPs(count: 2, options: defense)) + purify
    }

    /// What the inference thread computes for `/v1/attack`.
    struct AttackOutcome: Sendable {
        var adversarial: Tensor
        var purified: Tensor
        /// The bare classifier on the original and the adversarial image.
        var originalProbabilities: [Float]
        var adversarialProbabilities: [Float]
        /// The defended pipeline (purify, then classify) on the adversarial image.
        var purifiedProbabilities: [Float]
        var originalScore: Float
        var adversarialScore: Float
        var purifiedScore: Float
        var queueTime: Duration
        var attackTime: Duration
        var defenseTime: Duration
    }

    /// Attacks `x` `[1, H, W, C]`, purifies the result and classifies all three images.
    /// Each panel's reconstruction error is the score that image itself gets from the chosen
    /// purifier, i.e. what `/v1/classify` would report for it.
    static func runAttack(_ x: Tensor, attack: AttackOptions, model: DefendedModel, defense: DefenseOptions,
                          submitted: ContinuousClock.Instant) throws -> AttackOutcome {
        let clock = ContinuousClock()
        let begin = clock.now
        var rng = defense.seed.map(RandomSource.init(seed:)) ?? .fresh()
        var context = ForwardContext.inference(seed: 0)
        let clean = Softmax.apply(model.classifier(x, context: &context)).storage
        let label = argmax(clean)
        var adversarial = x
        if let linf = attack.linfAttack {
            adversarial = linf.perturb(x, labels: [label], target: ClassifierTarget(classifier: model.classifier), rng: &rng)
            quantize(&adversarial, around: x, epsilon: attack.epsilon)
        }
        let attacked = clock.now
        let bareAdversarial = Softmax.apply(model.classifier(adversarial, context: &context)).storage
        do {
            let results = try model.classify(Tensor.concatenate([x, adversarial]), options: defense, rng: &rng)
            let purified = Tensor(shape: [1] + model.inputShape, storage: results[1].purified.storage)
            let again = try model.purify(purified, options: defense, rng: &rng).scores[0]
            return AttackOutcome(adversarial: adversarial, purified: purified, originalProbabilities: clean,
                                 adversarialProbabilities: bareAdversarial, purifiedProbabilities: results[1].probabilities,
                                 originalScore: results[0].reconstructionError, adversarialScore: results[1].reconstructionError,
                                 purifiedScore: again, queueTime: begin - submitted, attackTime: attacked - begin,
                                 defenseTime: clock.now - attacked)
        } catch {
            throw ServiceError.from(error)
        }
    }

    /// Rounds `adv` to 8-bit levels without leaving the ε-ball around `x` (itself 8-bit), so the
    /// PNG the reply carries is exactly the image that was purified and classified.
    static func quantize(_ adv: inout Tensor, around x: Tensor, epsilon: Float) {
        let budget = (epsilon * 255 + 1e-3).rounded(.down)
        for i in 0..<adv.count {
            let o = (x.storage[i] * 255).rounded()
            let q = min(max((adv.storage[i] * 255).rounded(), o - budget), o + budget)
            adv.storage[i] = min(max(q, 0), 255) / 255
        }
    }

    static func argmax(_ p: [Float]) -> Int {
        p.indices.max { p[$0] < p[$1] } ?? 0
    }

    static func top(_ probabilities: [Float], labels: [String], k: Int) -> [Prediction] {
        probabilities.enumerated()
            .sorted { $0.element > $1.element }
            .prefix(k)
            .map { Prediction(index: $0.offset, label: $0.offset < labels.count ? labels[$0.offset] : String($0.offset),
                              confidence: $0.element) }
    }
}
