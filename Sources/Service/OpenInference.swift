import Foundation
import Engine
import HTTPServer
import Purification

/// Open Inference Protocol v2 (KServe) for the built-in models.
///
/// Inputs: one tensor, FP32 in [0, 1] or UINT8 in 0…255, shape `[N, H, W, C]` (NHWC, what
/// the metadata declares) or `[N, C, H, W]` with `"parameters": {"layout": "NCHW"}`, data
/// flat row-major or nested, or Triton's binary tensor data. Request-level `parameters` take
/// the v1 query options (`purifier`, `samples`, `seed`, …) and `binary_data_output`. Outputs:
/// `probabilities` `[N, classes]`, `reconstruction_error` `[N]`, `suspected_adversarial` `[N]`
/// (BOOL); with the parameter `"certify": true`, also `certified_label` `[N]` (INT64,
/// −1 = abstained) and `certified_radius_l2` `[N]` (FP32), the certificate's σ, n, n0, α and
/// denoiser in `parameters`; all or the listed ones (`OpenInference+Response.swift`). Every
/// model route also answers under `/versions/{version}`; errors are `{"error": "…"}`
/// (`OpenInferenceErrors`).
enum OpenInference {
    static func register(_ r: inout Router, _ ctx: ServiceContext) {
        r.get("/v2") { _ in
            try Routes.json(ServerMetadata(name: "vaeguard", version: VAEGuardVersion.string, extensions: ["binary_tensor_data"]))
        }
        r.get("/v2/health/live") { _ in try .json(["live": true]) }
        r.get("/v2/health/ready") { _ in
            let ready = ctx.registry.isReady && !ctx.isDraining
            return try .json(["ready": ready], status: ready ? .ok : .serviceUnavailable)
        }
        // Each model route also under /versions/{version}; a version the model does not have is 404.
        for prefix in ["/v2/models/:name", "/v2/models/:name/versions/:version"] {
            r.get(prefix) { request in
                if let entry = try upstreamEntry(request, ctx) { return try Routes.json(upstreamMetadata(entry)) }
                return try Routes.json(metadata(try model(request, ctx)))
            }
            r.get(prefix + "/ready") { request in
                if let entry = try upstreamEntry(request, ctx) {
                    let ready = (try? ctx.registry.model(named: entry.upstream!.purifierModel)) != nil && !ctx.isDraining
                    return try Routes.json(ModelReady(name: entry.name, ready: ready), status: ready ? .ok : .serviceUnavailable)
                }
                let m = try model(request, ctx)
                let ready = ctx.registry.isReady && !ctx.isDraining
                // Clients read the status (KServe: 2xx = ready), so a draining server says 503 too.
                return try Routes.json(ModelReady(name: m.name, ready: ready), status: ready ? .ok : .serviceUnavailable)
            }
            r.post(prefix + "/infer") { try await infer($0, ctx) }
        }
    }

    /// The configuration entry when the path names a model served by an upstream classifier
    /// (its only version is "upstream").
    static func upstreamEntry(_ request: HTTPRequest, _ ctx: ServiceContext) throws(ServiceError) -> ServiceConfiguration.ModelEntry? {
        let name = request.pathParameters["name"] ?? ""
        guard let entry = ctx.configuration.models.entries.first(where: { $0.name == name && $0.upstream != nil }) else { return nil }
        if let version = request.pathParameters["version"], version != "upstream" {
            throw .notFound("model '\(name)' has no version '\(version)'; available: upstream")
        }
        return entry
    }

    /// A model behind an upstream classifier: known here, but its inputs and outputs are the
    /// upstream's (an image in, whatever it answers), so it has no tensors to infer with.
    static func upstreamMetadata(_ entry: ServiceConfiguration.ModelEntry) -> ModelMetadata {
        ModelMetadata(name: entry.name, versions: ["upstream"], platform: "vaeguard-upstream", inputs: [], outputs: [],
                      parameters: ["purifier_model": entry.upstream!.purifierModel, "purifier": entry.upstream!.purifier.rawValue,
                                   "infer": "POST /v1/classify?model=\(entry.name) with the image"])
    }

    /// The model the path names (`:name`, and `:version` when given), or 404 / 503.
    static func model(_ request: HTTPRequest, _ ctx: ServiceContext) throws(ServiceError) -> DefendedModel {
        let m = try ctx.registry.model(named: request.pathParameters["name"] ?? "")
        if let version = request.pathParameters["version"], version != m.version {
            throw .notFound("model '\(m.name)' has no version '\(version)'; available: \(m.version)")
        }
        return m
    }

    // MARK: - Bodies

    struct ServerMetadata: Codable { var name: String; var version: String; var extensions: [String] }

    struct ModelReady: Codable { var name: String; var ready: Bool }

    struct TensorMetadata: Codable { var name: String; var datatype: String; var shape: [Int] }

    struct ModelMetadata: Codable {
        var name: String
        var versions: [String]
        var platform: String
        var inputs: [TensorMetadata]
        var outputs: [TensorMetadata]
        var parameters: [String: String]
    }

    static func metadata(_ m: DefendedModel) -> ModelMetadata {
        ModelMetadata(name: m.name, versions: [m.version], platform: "vaeguard",
                      inputs: [TensorMetadata(name: "input", datatype: "FP32", shape: [-1] + m.inputShape)],
                      outputs: [TensorMetadata(name: "probabilities", datatype: "FP32", shape: [-1, m.labels.count]),
                                TensorMetadata(name: "reconstruction_error", datatype: "FP32", shape: [-1]),
                                TensorMetadata(name: "suspected_adversarial", datatype: "BOOL", shape: [-1])],
                      parameters: ["layout": "NHWC", "accepted_datatypes": "FP32,UINT8", "labels": m.labels.joined(separator: ",")])
    }

    // MARK: - Infer

    static func infer(_ request: HTTPRequest, _ ctx: ServiceContext) async throws -> HTTPResponse {
        if let entry = try upstreamEntry(request, ctx) {
            // Never the local classifier it may also name: /v1/classify sends it upstream.
            throw ServiceError.badRequest("model '\(entry.name)' is served by its upstream classifier, which takes images: "
                + "send them to POST /v1/classify?model=\(entry.name); Open Inference infer serves the built-in classifiers")
        }
        let model = try model(request, ctx)
        let headerLength: Int? = try request.headers["Inference-Header-Content-Length"].map { raw throws(ServiceError) in
            guard let n = Int(raw.trimmingCharacters(in: .whitespaces)), n >= 0 else {
                throw .badRequest("Inference-Header-Content-Length must be a non-negative integer, got '\(raw)'")
            }
            return n
        }
        // JSON numbers take at least 2 bytes each and binary FP32 4, so the decoded tensor
        // (and its layout copy) is at most 4 bytes per body byte: reserved before parsing.
        let lease = try ctx.reservePixels(4 * request.body.count)
        // Parsing and tensor decoding run on the CPU pool, off the cooperative pool.
        let (body, images) = try await ctx.cpu.run { () throws -> (InferRequest, Tensor) in
            let body: InferRequest
            do throws(InferRequestError) { body = try InferRequest.parse(request.bodyData, headerLength: headerLength) } catch { throw error.serviceError }
            return (body, try tensor(from: body.input, model: model))
        }
        // Request parameters use the v1 option names; the model is the path's.
        let query = HTTPQuery(body.query)
        var options = try RequestOptions(query: query, configuration: ctx.configuration, model: model.name,
                                         noun: "request parameter")
        let certifyOptions = try CertifyOptions(query: query, limits: ctx.configuration.certification)
        try certifyOptions?.checkBudget(images: images.batchSize, limits: ctx.configuration.certification)
        let selection = try OutputSelection(body, certify: certifyOptions != nil)
        options.adapt(to: model, configuration: ctx.configuration)
        let defense = options.defense
        try ctx.checkCost("\(images.batchSize) image(s) × \(defense.samples) sample(s) of \(defense.purifier.rawValue)"
                          + (certifyOptions.map { ", certified with n0 + n = \($0.n0 + $0.n) samples each" } ?? "")) {
            () throws(PurificationError) in
            try model.classificationFLOPs(count: images.batchSize * (1 + (certifyOptions.map { $0.n0 + $0.n } ?? 0)),
                                          options: defense)
        }
        let resolved: ResolvedDefense
        do { resolved = try ResolvedDefense(model: model, options: defense) } catch { throw ServiceError.from(error) }
        let results = try await ctx.scheduler.classify(model: model, images: images, defense: resolved)
        for r in results { ctx.metrics.scored(model: model.name, error: r.reconstructionError, suspected: r.suspectedAdversarial) }
        ctx.metrics.purified(model: model.name, purifier: defense.purifier.rawValue, count: results.count)
        var parameters = ["purifier": defense.purifier.rawValue]
        var certificates: [CertificateBody]?
        if let certifyOptions {
            let made = try await Routes.certify(images, model: model, defense: defense, options: certifyOptions, ctx: ctx)
            certificates = made
            if let c = made.first {
                parameters.merge(["certify_sigma": String(c.sigma), "certify_n": String(c.n), "certify_n0": String(c.n0),
                                  "certify_alpha": String(c.alpha), "certify_denoiser": c.denoiser]) { a, _ in a }
            }
        }
        withExtendedLifetime(lease) {}
        return try selection.response(results: results, certificates: certificates, model: model,
                                      id: body.id ?? request.requestID, parameters: parameters)
    }

    /// Reads one OIP input tensor into `[N, H, W, C]` floats in [0, 1] (the decoding and
    /// validation live in `InferRequest.decodeTensor`, which is fuzzed on its own).
    static func tensor(from input: InferRequest.Input, model: DefendedModel) throws(ServiceError) -> Tensor {
        do {
            let t = try InferRequest.decodeTensor(input, inputShape: model.inputShape, modelName: model.name)
            return Tensor(shape: t.shape, storage: t.storage)
        } catch {
            throw error.serviceError
        }
    }
}

extension InferRequestError {
    var serviceError: ServiceError {
        switch self {
        case .badRequest(let m): .badRequest(m)
        case .unprocessable(let m): .unprocessable(m)
        }
    }
}

/// The service version reported by `/v2` and the CLI.
public enum VAEGuardVersion {
    public static let string = "0.1.0"
}
