import Foundation
import Engine
import HTTPServer
import Purification

/// Open Inference Protocol v2 (KServe) for the built-in models.
///
/// Inputs: one tensor, FP32 in [0, 1] or UINT8 in 0…255, shape `[N, H, W, C]` (NHWC, what
/// the metadata declares) or `[N, C, H, W]` with `"parameters": {"layout": "NCHW"}`, data
/// flat row-major or nested. Request-level `parameters` take the v1 query options
/// (`purifier`, `samples`, `seed`, …). Outputs: `probabilities` `[N, classes]`,
/// `reconstruction_error` `[N]`, `suspected_adversarial` `[N]` (BOOL); with the parameter
/// `"certify": true`, also `certified_label` `[N]` (INT64, −1 = abstained) and
/// `certified_radius_l2` `[N]` (FP32), the certificate's σ, n, n0, α and denoiser in `parameters`.
enum OpenInference {
    static func register(_ r: inout Router, _ ctx: ServiceContext) {
        r.get("/v2") { _ in
            try Routes.json(ServerMetadata(name: "vaeguard", version: VAEGuardVersion.string, extensions: []))
        }
        r.get("/v2/health/live") { _ in try .json(["live": true]) }
        r.get("/v2/health/ready") { _ in
            let ready = ctx.registry.isReady && !ctx.isDraining
            return try .json(["ready": ready], status: ready ? .ok : .serviceUnavailable)
        }
        r.get("/v2/models/:name") { request in
            let m = try ctx.registry.model(named: request.pathParameters["name"] ?? "")
            return try Routes.json(metadata(m))
        }
        r.get("/v2/models/:name/ready") { request in
            let name = request.pathParameters["name"] ?? ""
            _ = try ctx.registry.model(named: name)
            return try .json(["name": name, "ready": "true"])
        }
        r.post("/v2/models/:name/infer") { try await infer($0, ctx) }
    }

    // MARK: - Bodies

    struct ServerMetadata: Codable { var name: String; var version: String; var extensions: [String] }

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

    struct OutputTensor: Encodable {
        var name: String
        var datatype: String
        var shape: [Int]
        var data: OutputData
    }

    enum OutputData: Encodable {
        case floats([Float]), bools([Bool]), ints([Int])
        func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .floats(let v): try c.encode(v)
            case .bools(let v): try c.encode(v)
            case .ints(let v): try c.encode(v)
            }
        }
    }

    struct InferResponse: Encodable {
        var modelName: String
        var modelVersion: String
        var id: String
        var outputs: [OutputTensor]
        var parameters: [String: String]
    }

    // MARK: - Infer

    static func infer(_ request: HTTPRequest, _ ctx: ServiceContext) async throws -> HTTPResponse {
        let model = try ctx.registry.model(named: request.pathParameters["name"] ?? "")
        let body: InferRequest
        do { body = try InferRequest.parse(request.bodyData) } catch { throw error.serviceError }
        let images = try tensor(from: body.input, model: model)
        // Request parameters use the v1 option names.
        let query = HTTPQuery(body.query)
        var options = try RequestOptions(query: query, configuration: ctx.configuration)
        let certifyOptions = try CertifyOptions(query: query, limits: ctx.configuration.certification)
        try certifyOptions?.checkBudget(images: images.batchSize, limits: ctx.configuration.certification)
        options.adapt(to: model)
        let results = try await ctx.scheduler.classify(model: model, images: images, options: options.defense)
        let n = results.count
        var outputs = [
            OutputTensor(name: "probabilities", datatype: "FP32", shape: [n, model.labels.count],
                         data: .floats(results.flatMap(\.probabilities))),
            OutputTensor(name: "reconstruction_error", datatype: "FP32", shape: [n], data: .floats(results.map(\.reconstructionError))),
            OutputTensor(name: "suspected_adversarial", datatype: "BOOL", shape: [n], data: .bools(results.map(\.suspectedAdversarial))),
        ]
        var parameters = ["purifier": options.defense.purifier.rawValue]
        if let certifyOptions {
            let certificates = try await Routes.certify(images, model: model, defense: options.defense, options: certifyOptions, ctx: ctx)
            outputs.append(OutputTensor(name: "certified_label", datatype: "INT64", shape: [n], data: .ints(certificates.map { $0.index ?? -1 })))
            outputs.append(OutputTensor(name: "certified_radius_l2", datatype: "FP32", shape: [n],
                                        data: .floats(certificates.map { Float($0.radiusL2) })))
            if let c = certificates.first {
                parameters.merge(["certify_sigma": String(c.sigma), "certify_n": String(c.n), "certify_n0": String(c.n0),
                                  "certify_alpha": String(c.alpha), "certify_denoiser": c.denoiser]) { a, _ in a }
            }
        }
        let id = body.id ?? request.requestID
        return try Routes.json(InferResponse(modelName: model.name, modelVersion: model.version, id: id, outputs: outputs,
                                             parameters: parameters))
    }

    /// Reads one OIP input tensor into `[N, H, W, C]` floats in [0, 1] (the decoding and
    /// validation live in `InferRequest.decodeTensor`, which is fuzzed on its own).
    static func tensor(from input: [String: Any], model: DefendedModel) throws(ServiceError) -> Tensor {
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
