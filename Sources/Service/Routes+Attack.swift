import Foundation
import Attacks
import Engine
import HTTPServer
import Imaging
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
        let resolved: ResolvedDefense
        do { resolved = try ResolvedDefense(model: model, options: options.defense) } catch { throw ServiceError.from(error) }
        let topK = request.query["top_k"] == nil ? 3 : options.topK
        let maxPixels = ctx.configuration.purification.maxImagePixels
        let probed = try await ctx.cpu.run { try ImageInput.probedUploads(request, maxImages: 1, maxPixels: maxPixels)[0] }
        let defense = options.defense
        try ctx.checkCost("\(attack.steps) attack step(s), then 3 purifications × \(defense.samples) sample(s) of "
                          + defense.purifier.rawValue) { () throws(PurificationError) in
            try AttackDemonstration.flops(steps: attack.steps, model: model, defense: defense)
        }
        let shape = model.inputShape
        let lease = try ctx.reservePixels(ImageInput.heldBytes(probed.info, channels: shape[2], purified: false))
        let x = try await ctx.cpu.run { () throws -> Tensor in
            try ImageInput.modelInput(try ImageInput.decode(probed.upload.bytes, maxPixels: maxPixels), shape: shape)
        }
        withExtendedLifetime(lease) {}
        let decoded = clock.now
        let linf = attack.linfAttack
        let (outcome, queueTime) = try await ctx.scheduler.run { () throws -> (AttackDemonstration, Duration) in
            let queueTime = ContinuousClock.now - decoded
            do throws(PurificationError) {
                return (try AttackDemonstration.run(x, attack: linf, model: model, defense: resolved), queueTime)
            } catch {
                throw ServiceError.from(error)
            }
        }
        ctx.metrics.stage("attack", model: model.name, duration: outcome.attackTime)
        ctx.metrics.purified(model: model.name, purifier: resolved.name)

        func panel(_ t: Tensor, _ probabilities: [Float], _ score: Float) throws -> AttackResponse.Panel {
            let png: [UInt8]
            do { png = try ImageInput.image(t).pngData() } catch { throw ServiceError.internalError("encoding a PNG failed: \(error)") }
            return AttackResponse.Panel(image: Data(png).base64EncodedString(),
                                        predictions: Self.top(probabilities, labels: model.labels, k: topK),
                                        reconstructionError: score, suspectedAdversarial: score > model.threshold(for: resolved.kind))
        }
        let distortion = Distortion(original: x, adversarial: outcome.adversarial)
        let originalTop = Self.argmax(outcome.originalProbabilities)
        let body = AttackResponse(
            requestId: request.requestID, model: ModelInfo(name: model.name, version: model.version),
            purifier: PurifierInfo(name: resolved.name, settings: resolved.reportedSettings),
            threshold: model.threshold(for: resolved.kind),
            attack: .init(name: attack.kind.rawValue, eps: attack.epsilon, steps: attack.steps,
                          linf: Float(distortion.linfMax), l2: Float(distortion.l2Sum), label: originalTop,
                          fooled: Self.argmax(outcome.adversarialProbabilities) != originalTop,
                          recovered: Self.argmax(outcome.purifiedProbabilities) == originalTop,
                          threat: "white-box on the bare classifier, then purified (oblivious)"),
            original: try panel(x, outcome.originalProbabilities, outcome.originalScore),
            adversarial: try panel(outcome.adversarial, outcome.adversarialProbabilities, outcome.adversarialScore),
            purified: try panel(outcome.purified, outcome.purifiedProbabilities, outcome.purifiedScore),
            timings: .init(decodeMs: (decoded - start).milliseconds, queueMs: queueTime.milliseconds,
                           attackMs: outcome.attackTime.milliseconds, defenseMs: outcome.defenseTime.milliseconds,
                           totalMs: (clock.now - start).milliseconds))
        return try json(body)
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
