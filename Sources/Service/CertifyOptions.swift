import Foundation
import Engine
import HTTPServer
import Certification
import Purification

/// Query parameters of randomized-smoothing certification: `certify`, `n`, `n0`, `alpha`,
/// `sigma`. Each is checked against `certification` limits with a 400 naming it.
struct CertifyOptions: Sendable, Equatable {
    var n: Int
    var n0: Int
    var alpha: Double
    /// nil: the model's σ (configuration entry, else its model card, else the default).
    var sigma: Float?

    static let keys: Set<String> = ["certify", "n", "n0", "alpha", "sigma"]

    /// nil unless the query says `certify=true`; a certification parameter without it is a 400.
    init?(query: HTTPQuery, limits: ServiceConfiguration.CertificationSettings) throws(ServiceError) {
        let flag = query["certify"]?.lowercased()
        guard let flag, ["true", "1", "yes"].contains(flag) else {
            if let flag, !["false", "0", "no"].contains(flag) { throw .badRequest("certify must be true or false, got '\(flag)'") }
            if let extra = ["n", "n0", "alpha", "sigma"].first(where: { query[$0] != nil }) {
                throw .badRequest("\(extra) is a certification parameter: add certify=true")
            }
            return nil
        }
        func int(_ name: String, _ range: ClosedRange<Int>, _ fallback: Int) throws(ServiceError) -> Int {
            guard let raw = query[name] else { return fallback }
            guard let v = Int(raw), range.contains(v) else {
                throw .badRequest("\(name) must be an integer in \(range.lowerBound)…\(range.upperBound), got '\(raw)'")
            }
            return v
        }
        n = try int("n", 1...limits.maxN, limits.defaultN)
        n0 = try int("n0", 1...limits.maxN0, limits.defaultN0)
        alpha = limits.defaultAlpha
        if let raw = query["alpha"] {
            guard let a = Double(raw), a.isFinite, a >= limits.minAlpha, a <= 0.5 else {
                throw .badRequest("alpha must be a number in \(limits.minAlpha)…0.5 (the certificate fails with probability ≤ alpha), got '\(raw)'")
            }
            alpha = a
        }
        if let raw = query["sigma"] {
            guard let s = Float(raw), s.isFinite, s > 0, s <= limits.maxSigma else {
                throw .badRequest("sigma must be a number with 0 < sigma ≤ \(limits.maxSigma) (pixel units, images in [0, 1]), got '\(raw)'")
            }
            sigma = s
        }
    }

    /// A multipart batch certifies every image: its samples together may not exceed one
    /// image's largest budget, `maxN + maxN0` (one request cannot hold an inference thread for
    /// 64 × `maxN` forward passes).
    func checkBudget(images: Int, limits: ServiceConfiguration.CertificationSettings) throws(ServiceError) {
        let total = images * (n + n0), budget = limits.maxN + limits.maxN0
        guard total <= budget else {
            throw .badRequest("n: certifying \(images) images needs \(images) × (n + n0) = \(total) samples; "
                + "at most \(budget) per request (certification.maxN + maxN0): send fewer images or a smaller n")
        }
    }

    /// The σ to smooth `model` with: the request's, else the model entry's `smoothingSigma`,
    /// else the model card's `noise_sigma`, else `certification.defaultSigma`.
    func sigma(for model: DefendedModel, configuration: ServiceConfiguration) -> Float {
        sigma ?? configuration.models.entries.first { $0.name == model.name }?.smoothingSigma ?? model.smoothingSigma
            ?? configuration.certification.defaultSigma
    }
}

/// `"certificate"` in a reply (snake_case on the wire): the smoothed classifier's label and
/// the L2 radius within which, with probability ≥ 1 − alpha, no perturbation changes it.
struct CertificateBody: Codable, Sendable, Equatable {
    /// The label's name; nil when abstained.
    var label: String?
    var index: Int?
    var radiusL2: Double
    var sigma: Double
    var n: Int
    var n0: Int
    var alpha: Double
    var abstained: Bool
    /// The denoiser D in f(D(x + δ)): none, vae or patch-vae.
    var denoiser: String
    /// The Clopper–Pearson lower bound on the top class's probability.
    var pALower: Double

    init(_ c: Certificate, labels: [String], denoiser: String) {
        index = c.label
        label = c.label.map { $0 < labels.count ? labels[$0] : String($0) }
        radiusL2 = c.radius
        sigma = c.sigma
        n = c.n
        n0 = c.n0
        alpha = c.alpha
        abstained = c.abstained
        self.denoiser = denoiser
        pALower = c.pALower
    }

    /// Like the synthesized encoder, but an abstention's `label` and `index` are explicit nulls.
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(label, forKey: .label)
        try c.encode(index, forKey: .index)
        try c.encode(radiusL2, forKey: .radiusL2)
        try c.encode(sigma, forKey: .sigma)
        try c.encode(n, forKey: .n)
        try c.encode(n0, forKey: .n0)
        try c.encode(alpha, forKey: .alpha)
        try c.encode(abstained, forKey: .abstained)
        try c.encode(denoiser, forKey: .denoiser)
        try c.encode(pALower, forKey: .pALower)
    }
}

extension Routes {
    /// Certifies each image of `images` (`[N, H, W, C]`) on an inference thread: CERTIFY of
    /// the model's classifier behind the request's purifier as denoiser.
    static func certify(_ images: Tensor, model: DefendedModel, defense: DefenseOptions, options: CertifyOptions,
                        ctx: ServiceContext) async throws -> [CertificateBody] {
        let limits = ctx.configuration.certification
        let sigma = options.sigma(for: model, configuration: ctx.configuration)
        let base: DefendedBaseClassifier
        let smoothed: SmoothedClassifier<DefendedBaseClassifier>
        do {
            base = try DefendedBaseClassifier(model: model, options: defense)
            smoothed = try SmoothedClassifier(base: base, sigma: sigma, batchSize: limits.batchSize)
        } catch { throw ServiceError.from(error) }
        let started = ContinuousClock.now
        let certificates: [Certificate]
        do {
            certificates = try await ctx.scheduler.run { () throws -> [Certificate] in
                // A seeded request's noise is reproducible; otherwise it is fresh per request.
                var rng = defense.seed.map { RandomSource(seed: $0 &+ 0x5EED) } ?? .fresh()
                return try (0..<images.batchSize).map { i in
                    try smoothed.certify(images.batch(i..<(i + 1)), n0: options.n0, n: options.n, alpha: options.alpha, rng: &rng)
                }
            }
        } catch let error as CertificationError {
            throw ServiceError.from(error)
        }
        ctx.metrics.stage("certify", model: model.name, duration: ContinuousClock.now - started)
        return certificates.map { CertificateBody($0, labels: model.labels, denoiser: defense.purifier.rawValue) }
    }
}
