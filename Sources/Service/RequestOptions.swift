import Foundation
import HTTPServer
import NeuralNet
import Purification

/// Query parameters of the inference routes, validated with messages that name the
/// parameter: `model`, `purifier`, `samples`, `ensemble`, `sampling`, `quality`, `stride`,
/// `seed`, `top_k` (and the certification parameters of `CertifyOptions`).
struct RequestOptions {
    var model: String
    var defense: DefenseOptions
    var purifierGiven: Bool
    var topK: Int

    static let known = Set(["model", "purifier", "samples", "ensemble", "sampling", "quality", "stride", "seed", "top_k",
                            "attack", "eps", "steps"]).union(CertifyOptions.keys)

    /// `model` names the model when the route's path does (`/v2/models/{name}/infer`);
    /// `noun` is what the message calls an unknown key ("query parameter", or "parameter"
    /// for the v2 body's `parameters`).
    init(query: HTTPQuery, configuration: ServiceConfiguration, extraKeys: Set<String> = [], model pathModel: String? = nil,
         noun: String = "query parameter") throws(ServiceError) {
        for item in query where !Self.known.contains(item.name) && !extraKeys.contains(item.name) {
            throw .badRequest("unknown \(noun) '\(item.name)'; known: \(Self.known.subtracting(["attack", "eps", "steps"]).sorted().joined(separator: ", "))")
        }
        func int(_ name: String, _ range: ClosedRange<Int>) throws(ServiceError) -> Int? {
            guard let raw = query[name] else { return nil }
            guard let v = Int(raw), range.contains(v) else {
                throw .badRequest("\(name) must be an integer in \(range.lowerBound)…\(range.upperBound), got '\(raw)'")
            }
            return v
        }
        model = pathModel ?? query["model"] ?? configuration.models.defaultModel
        purifierGiven = query["purifier"] != nil
        let settings = EffectiveModelSettings(model: model, configuration: configuration)
        var d = DefenseOptions(purifier: settings.defaultPurifier, jpegQuality: settings.jpegQuality, patchStride: settings.patchStride)
        if let raw = query["purifier"] {
            guard let p = PurifierKind(rawValue: raw) else {
                throw .badRequest("purifier must be one of \(PurifierKind.allCases.map(\.rawValue).joined(separator: ", ")), got '\(raw)'")
            }
            d.purifier = p
        }
        d.samples = try int("samples", 1...configuration.purification.maxSamples) ?? 1
        d.jpegQuality = try int("quality", 1...100) ?? d.jpegQuality
        d.patchStride = try int("stride", 1...1024) ?? d.patchStride
        if let raw = query["ensemble"] {
            guard let e = DefenseOptions.Ensemble(rawValue: raw) else {
                throw .badRequest("ensemble must be reconstructions or probabilities, got '\(raw)'")
            }
            d.ensemble = e
        }
        if let raw = query["sampling"] {
            guard let s = VariationalAutoencoder.Sampling(rawValue: raw) else {
                throw .badRequest("sampling must be sample or mean, got '\(raw)'")
            }
            d.sampling = s
        }
        if let raw = query["seed"] {
            guard let s = UInt64(raw) else { throw .badRequest("seed must be a non-negative integer, got '\(raw)'") }
            d.seed = s
        }
        if configuration.purification.enforce {
            if d.purifier == .none { throw .badRequest("purifier=none is disabled on this server (purification.enforce)") }
            if d.seed != nil { throw .badRequest("seed is disabled on this server (purification.enforce): the purifier's noise stays fresh") }
            if d.sampling == .mean {
                throw .badRequest("sampling=mean is disabled on this server (purification.enforce): the purifier's noise stays fresh")
            }
        }
        defense = d
        topK = try int("top_k", 1...1000) ?? 5
    }

    /// When the request named no purifier, takes `model`'s effective default, which falls
    /// back to a purifier the model has when the configured one's VAE file is not shipped.
    mutating func adapt(to model: DefendedModel, configuration: ServiceConfiguration) {
        guard !purifierGiven else { return }
        defense.purifier = EffectiveModelSettings(model, configuration: configuration).defaultPurifier
    }
}
