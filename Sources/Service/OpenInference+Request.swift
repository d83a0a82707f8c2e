import Foundation

/// Why an Open Inference Protocol infer body was refused; `OpenInference` maps it to
/// `ServiceError` (400 or 422).
enum InferRequestError: Error, Equatable, CustomStringConvertible {
    case badRequest(String)
    case unprocessable(String)

    var description: String {
        switch self {
        case .badRequest(let m), .unprocessable(let m): m
        }
    }
}

/// The body of an Open Inference Protocol v2 infer request, decoded and validated: JSON, or
/// Triton's binary tensor data extension (a JSON header of `Inference-Header-Content-Length`
/// bytes, then the raw tensors that inputs announce with `parameters.binary_data_size`).
///
/// Kept free of models, tensors and HTTP types (Foundation only) so that exactly the code
/// that reads untrusted request bodies can be compiled on its own into the libFuzzer target
/// `fuzz/request-json` (see `scripts/fuzz.sh`). `OpenInference.infer` is the only caller.
struct InferRequest: Sendable {
    /// One input tensor, not yet decoded (see `decodeTensor`): its JSON members, and its raw
    /// bytes when it came as binary data.
    struct Input: Equatable, Sendable {
        var fields: [String: OIPJSON]
        var binary: Data?
    }

    /// An output the request asked for; `binary` is its `parameters.binary_data`, if given.
    struct RequestedOutput: Equatable, Sendable {
        var name: String
        var binary: Bool?
    }

    /// The request's `id`, when it is a string.
    var id: String?
    /// The one input tensor.
    var input: Input
    /// Request-level `parameters` (the v1 query option names), less the protocol's own.
    var parameters: [String: OIPJSON]
    /// `parameters.binary_data_output`: outputs with no `binary_data` of their own come as
    /// binary data (tritonclient sets it when a request lists no outputs).
    var binaryDataOutput = false
    /// The `outputs` the request listed, in order; nil when it listed none (all outputs).
    var outputs: [RequestedOutput]?

    /// Request-level parameters of the protocol itself, which are not service options.
    static let protocolParameters: Set<String> = ["binary_data_output"]

    /// Parses a body whose first `headerLength` bytes are the JSON header (Triton's
    /// `Inference-Header-Content-Length`) and the rest binary tensor data; nil = all JSON.
    /// The JSON must be an object with an `inputs` array of exactly one tensor.
    static func parse(_ body: Data, headerLength: Int? = nil) throws(InferRequestError) -> InferRequest {
        let jsonLength = headerLength ?? body.count
        guard jsonLength >= 0, jsonLength <= body.count else {
            throw .badRequest("Inference-Header-Content-Length \(jsonLength) does not fit a body of \(body.count) bytes")
        }
        let parsed: OIPJSON
        do { parsed = try OIPJSONReader.parse(body.prefix(jsonLength)) } catch {
            switch error {
            case .nonNumericData: throw .badRequest("input 'data' must contain only numbers")
            case .syntax(let m): throw .badRequest("body must be a JSON object with an 'inputs' array: \(m)")
            }
        }
        guard let root = parsed.object else { throw .badRequest("body must be a JSON object with an 'inputs' array") }
        guard let inputs = root["inputs"]?.array, inputs.count == 1, let fields = inputs[0].object else {
            throw .badRequest("'inputs' must hold exactly one tensor")
        }
        var input = Input(fields: fields, binary: nil)
        let binary = body.suffix(from: body.startIndex + jsonLength)
        if let size = fields["parameters"]?.object?["binary_data_size"] {
            guard headerLength != nil else {
                throw .badRequest("input parameter 'binary_data_size' needs the Inference-Header-Content-Length header")
            }
            guard let n = size.int, n >= 0 else { throw .badRequest("input parameter 'binary_data_size' must be a non-negative integer") }
            guard fields["data"] == nil else { throw .badRequest("an input with 'binary_data_size' must not also have 'data'") }
            guard n == binary.count else {
                throw .badRequest("binary data holds \(binary.count) bytes after the JSON header; the input declares binary_data_size \(n)")
            }
            input.binary = Data(binary)
        } else if !binary.isEmpty {
            throw .badRequest("\(binary.count) bytes follow the JSON header but no input declares 'binary_data_size'")
        }
        var parameters: [String: OIPJSON] = [:]
        var binaryDataOutput = false
        if let p = root["parameters"] {
            guard let object = p.object else { throw .badRequest("request 'parameters' must be an object") }
            parameters = object
        }
        if let flag = parameters.removeValue(forKey: "binary_data_output") {
            guard let b = flag.bool else { throw .badRequest("parameter 'binary_data_output' must be a boolean") }
            binaryDataOutput = b
        }
        return InferRequest(id: root["id"]?.string, input: input, parameters: parameters, binaryDataOutput: binaryDataOutput,
                            outputs: try requestedOutputs(root["outputs"]))
    }

    private static func requestedOutputs(_ value: OIPJSON?) throws(InferRequestError) -> [RequestedOutput]? {
        guard let value, value != .null else { return nil }
        guard let list = value.array else { throw .badRequest("'outputs' must be an array of {\"name\": …} objects") }
        var out: [RequestedOutput] = []
        for item in list {
            guard let name = item.object?["name"]?.string else { throw .badRequest("each requested output needs a string 'name'") }
            let flag = item.object?["parameters"]?.object?["binary_data"]
            if let flag, flag.bool == nil { throw .badRequest("output parameter 'binary_data' must be a boolean") }
            out.append(RequestedOutput(name: name, binary: flag?.bool))
        }
        return out
    }

    /// The request parameters as a query string (`name=value&...`), which `RequestOptions`
    /// validates exactly like the v1 routes' query. Names are percent-encoded like values:
    /// a name holding `=`, `&`, `+` or `%` must come back from `HTTPQuery` as the same one
    /// unknown name, not as other parameters (found by fuzz/request-json).
    var query: String {
        parameters.map { k, v in "\(Self.percentEncoded(k))=\(Self.percentEncoded(v.queryValue))" }.joined(separator: "&")
    }

    private static func percentEncoded(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
    }

    /// A decoded input tensor: `shape` is `[N, H, W, C]`, `storage` NHWC floats in [0, 1].
    struct DecodedTensor: Equatable, Sendable {
        var shape: [Int]
        var storage: [Float]
    }

    /// Reads one input tensor for a model taking `[H, W, C]` images (`inputShape`): FP32 in
    /// [0, 1] (clamped) or UINT8 0…255 (scaled by 1/255), shape `[N, H, W, C]` or, with
    /// `"parameters": {"layout": "NCHW"}`, `[N, C, H, W]`; data flat row-major or nested
    /// JSON numbers, or binary (FP32 little-endian, UINT8 one byte each).
    static func decodeTensor(_ input: Input, inputShape: [Int], modelName: String) throws(InferRequestError) -> DecodedTensor {
        let fields = input.fields
        guard let raw = fields["shape"]?.array, raw.count == 4 else { throw badShape }
        var shape: [Int] = []
        for v in raw {
            guard let d = v.int, d > 0 else { throw badShape }
            shape.append(d)
        }
        let datatype = fields["datatype"]?.string?.uppercased() ?? ""
        guard datatype == "FP32" || datatype == "UINT8" else {
            throw .badRequest("input 'datatype' must be FP32 or UINT8, got '\(datatype)'")
        }
        let layoutValue = fields["parameters"]?.object?["layout"]
        let layout = layoutValue?.string?.uppercased() ?? (layoutValue == nil ? "NHWC" : "")
        guard layout == "NHWC" || layout == "NCHW" else { throw .badRequest("layout must be NHWC or NCHW, got '\(layout)'") }
        let (h, w, c) = (inputShape[0], inputShape[1], inputShape[2])
        let expected = layout == "NHWC" ? [shape[0], h, w, c] : [shape[0], c, h, w]
        guard shape == expected else {
            throw .badRequest("input shape \(shape) does not fit model '\(modelName)': expected \(expected) (\(layout))")
        }
        guard shape[0] <= 256 else { throw .unprocessable("at most 256 images per inference request") }
        let count = shape.reduce(1, *)
        var flat = try values(input, datatype: datatype, count: count, shape: shape)
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
        return DecodedTensor(shape: [shape[0], h, w, c], storage: flat)
    }

    private static var badShape: InferRequestError {
        .badRequest("input 'shape' must be 4 positive integers, [N, H, W, C] (or [N, C, H, W] with layout NCHW)")
    }

    /// The tensor's `count` values as floats, from JSON `data` or the binary bytes.
    private static func values(_ input: Input, datatype: String, count: Int, shape: [Int]) throws(InferRequestError) -> [Float] {
        if let bytes = input.binary {
            let width = datatype == "FP32" ? 4 : 1
            guard bytes.count == count * width else {
                throw .badRequest("input binary data has \(bytes.count) bytes; shape \(shape) of \(datatype) needs \(count * width)")
            }
            if width == 1 { return bytes.map(Float.init) }
            return bytes.withUnsafeBytes { raw in
                (0..<count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
            }
        }
        guard let data = input.fields["data"] else { throw .badRequest("input has no 'data'") }
        guard case .floats(let flat) = data else { throw .badRequest("input 'data' must contain only numbers") }
        guard flat.count == count else {
            throw .badRequest("input 'data' has \(flat.count) values; shape \(shape) needs \(count)")
        }
        return flat
    }
}
