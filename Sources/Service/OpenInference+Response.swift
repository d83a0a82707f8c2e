import Foundation
import HTTPServer
import Purification

extension OpenInference {
    /// The outputs every infer reply can hold, in the order the metadata lists them.
    static let outputNames = ["probabilities", "reconstruction_error", "suspected_adversarial"]
    /// The outputs a reply holds in addition when the request asks for `certify`.
    static let certificateOutputNames = ["certified_label", "certified_radius_l2"]

    /// Which outputs a request wants and which of them as binary data (Triton's binary tensor
    /// data extension): the listed `outputs` in their order, or all; an output is binary when
    /// its own `parameters.binary_data` says so, else when the request's `binary_data_output` does.
    struct OutputSelection {
        var outputs: [(name: String, binary: Bool)]

        init(_ request: InferRequest, certify: Bool = false) throws(ServiceError) {
            let available = OpenInference.outputNames + (certify ? OpenInference.certificateOutputNames : [])
            guard let listed = request.outputs else {
                outputs = available.map { ($0, request.binaryDataOutput) }
                return
            }
            var seen = Set<String>()
            outputs = []
            for o in listed {
                if !certify, OpenInference.certificateOutputNames.contains(o.name) {
                    throw .badRequest("output '\(o.name)' needs the request parameter \"certify\": true")
                }
                guard available.contains(o.name) else {
                    throw .badRequest("unknown output '\(o.name)'; outputs: \(available.joined(separator: ", "))")
                }
                guard seen.insert(o.name).inserted else { throw .badRequest("output '\(o.name)' is listed twice") }
                outputs.append((o.name, o.binary ?? request.binaryDataOutput))
            }
        }

        /// The reply: JSON, or when any output is binary, the JSON header followed by the
        /// binary outputs' bytes, its length in `Inference-Header-Content-Length`.
        func response(results: [DefendedModel.Result], certificates: [CertificateBody]? = nil, model: DefendedModel,
                      id: String, parameters: [String: String]) throws -> HTTPResponse {
            let n = results.count
            var tensors: [OutputTensor] = []
            var binary: [UInt8] = []
            for (name, asBinary) in outputs {
                var t: OutputTensor
                switch name {
                case "probabilities":
                    t = OutputTensor(name: name, datatype: "FP32", shape: [n, model.labels.count], data: .floats(results.flatMap(\.probabilities)))
                case "reconstruction_error":
                    t = OutputTensor(name: name, datatype: "FP32", shape: [n], data: .floats(results.map(\.reconstructionError)))
                case "certified_label":
                    t = OutputTensor(name: name, datatype: "INT64", shape: [n], data: .ints((certificates ?? []).map { $0.index ?? -1 }))
                case "certified_radius_l2":
                    t = OutputTensor(name: name, datatype: "FP32", shape: [n], data: .floats((certificates ?? []).map { Float($0.radiusL2) }))
                default:
                    t = OutputTensor(name: name, datatype: "BOOL", shape: [n], data: .bools(results.map(\.suspectedAdversarial)))
                }
                if asBinary {
                    let bytes = t.data?.littleEndianBytes ?? []
                    binary += bytes
                    t.data = nil
                    t.parameters = ["binary_data_size": bytes.count]
                }
                tensors.append(t)
            }
            let header = try JSONEncoder.api.encode(InferResponse(modelName: model.name, modelVersion: model.version, id: id,
                                                                 outputs: tensors, parameters: parameters))
            guard outputs.contains(where: \.binary) else { return .json(encoded: Array(header)) }
            var headers = HTTPHeaders()
            headers["Content-Type"] = "application/octet-stream"
            headers["Inference-Header-Content-Length"] = String(header.count)
            return HTTPResponse(status: .ok, headers: headers, body: Array(header) + binary)
        }
    }

    struct OutputTensor: Encodable {
        var name: String
        var datatype: String
        var shape: [Int]
        /// Nil when the tensor travels as binary data after the JSON header.
        var data: OutputData?
        var parameters: [String: Int]?

        enum CodingKeys: String, CodingKey { case name, datatype, shape, data, parameters }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode(datatype, forKey: .datatype)
            try c.encode(shape, forKey: .shape)
            try c.encodeIfPresent(data, forKey: .data)
            try c.encodeIfPresent(parameters, forKey: .parameters)
        }
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

        /// The binary tensor data encoding: FP32 and INT64 little-endian, BOOL one byte (0 or 1).
        var littleEndianBytes: [UInt8] {
            switch self {
            case .floats(let v): v.flatMap { f in withUnsafeBytes(of: f.bitPattern.littleEndian) { Array($0) } }
            case .bools(let v): v.map { $0 ? 1 : 0 }
            case .ints(let v): v.flatMap { i in withUnsafeBytes(of: Int64(i).littleEndian) { Array($0) } }
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
}
