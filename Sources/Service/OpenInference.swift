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
/// `reconstruction_error` `[N]`, `suspected_adversarial` `[N]` (BOOL).
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
        case floats([Float]), bools([Bool])
        func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .floats(let v): try c.encode(v)
            case .bools(let v): try c.encode(v)
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
        guard let root = try? JSONSerialization.jsonObject(with: request.bodyData) as? [String: Any] else {
            throw ServiceError.badRequest("body must be a JSON object with an 'inputs' array")
        }
        guard let inputs = root["inputs"] as? [[String: Any]], inputs.count == 1 else {
            throw ServiceError.badRequest("'inputs' must hold exactly one tensor")
        }
        let images = try tensor(from: inputs[0], model: model)
        // Request parameters use the v1 option names.
        var query: [String] = []
        for (k, v) in (root["parameters"] as? [String: Any]) ?? [:] {
            query.append("\(k)=\(String(describing: v).addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")")
        }
        var options = try RequestOptions(query: HTTPQuery(query.joined(separator: "&")), configuration: ctx.configuration)
        options.adapt(to: model)
        let results = try await ctx.scheduler.classify(model: model, images: images, options: options.defense)
        let n = results.count
        let outputs = [
            OutputTensor(name: "probabilities", datatype: "FP32", shape: [n, model.labels.count],
                         data: .floats(results.flatMap(\.probabilities))),
            OutputTensor(name: "reconstruction_error", datatype: "FP32", shape: [n], data: .floats(results.map(\.reconstructionError))),
            OutputTensor(name: "suspected_adversarial", datatype: "BOOL", shape: [n], data: .bools(results.map(\.suspectedAdversarial))),
        ]
        let id = (root["id"] as? String) ?? request.requestID
        return try Routes.json(InferResponse(modelName: model.name, modelVersion: model.version, id: id, outputs: outputs,
                                             parameters: ["purifier": options.defense.purifier.rawValue]))
    }

    /// Reads one OIP input tensor into `[N, H, W, C]` floats in [0, 1].
    static func tensor(from input: [String: Any], model: DefendedModel) throws(ServiceError) -> Tensor {
        guard let shape = input["shape"] as? [Int], shape.count == 4, shape.allSatisfy({ $0 > 0 }) else {
            throw .badRequest("input 'shape' must be 4 positive integers, [N, H, W, C] (or [N, C, H, W] with layout NCHW)")
        }
        let datatype = (input["datatype"] as? String)?.uppercased() ?? ""
        guard datatype == "FP32" || datatype == "UINT8" else {
            throw .badRequest("input 'datatype' must be FP32 or UINT8, got '\(datatype)'")
        }
        let layout = ((input["parameters"] as? [String: Any])?["layout"] as? String)?.uppercased() ?? "NHWC"
        guard layout == "NHWC" || layout == "NCHW" else { throw .badRequest("layout must be NHWC or NCHW, got '\(layout)'") }
        let (h, w, c) = (model.inputShape[0], model.inputShape[1], model.inputShape[2])
        let expected = layout == "NHWC" ? [shape[0], h, w, c] : [shape[0], c, h, w]
        guard shape == expected else {
            throw .badRequest("input shape \(shape) does not fit model '\(model.name)': expected \(expected) (\(layout))")
        }
        guard shape[0] <= 256 else { throw .unprocessable("at most 256 images per inference request") }
        var flat: [Float] = []
        flat.reserveCapacity(shape.reduce(1, *))
        func collect(_ value: Any) throws(ServiceError) {
            if let array = value as? [Any] {
                for v in array { try collect(v) }
            } else if type(of: value) != Bool.self, let number = value as? NSNumber {
                flat.append(number.floatValue)
            } else {
                throw .badRequest("input 'data' must contain only numbers")
            }
        }
        guard let data = input["data"] else { throw .badRequest("input has no 'data'") }
        try collect(data)
        guard flat.count == shape.reduce(1, *) else {
            throw .badRequest("input 'data' has \(flat.count) values; shape \(shape) needs \(shape.reduce(1, *))")
        }
        if datatype == "UINT8" {
            guard flat.allSatisfy({ $0 >= 0 && $0 <= 255 && $0 == $0.rounded() }) else { throw .badRequest("UINT8 data must be integers 0…255") }
            flat = flat.map { $0 / 255 }
        } else {
            guard flat.allSatisfy({ $0.isFinite }) else { throw .badRequest("FP32 data must be finite") }
            flat = flat.map { min(max($0, 0), 1) }
        }
        if layout == "NCHW" {
            var nhwc = [Float](repeating: 0, count: flat.count)
            for b in 0..<shape[0] { for ch in 0..<c { for i in 0..<h { for j in 0..<w {
                nhwc[((b * h + i) * w + j) * c + ch] = flat[((b * c + ch) * h + i) * w + j]
            } } } }
            flat = nhwc
        }
        return Tensor(shape: [shape[0], h, w, c], storage: flat)
    }
}

/// The service version reported by `/v2` and the CLI.
public enum VAEGuardVersion {
    public static let string = "0.1.0"
}
