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

/// The JSON body of an Open Inference Protocol v2 infer request, decoded and validated.
///
/// Kept free of models, tensors and HTTP types (Foundation only) so that exactly the code
/// that reads untrusted request JSON can be compiled on its own into the libFuzzer target
/// `fuzz/request-json` (see `scripts/fuzz.sh`). `OpenInference.infer` is the only caller.
struct InferRequest {
    /// The request's `id`, when it is a string.
    var id: String?
    /// The one input tensor, not yet decoded (see `decodeTensor`).
    var input: [String: Any]
    /// Request-level `parameters` (the v1 query option names).
    var parameters: [String: Any]

    /// Parses a body that must be a JSON object with an `inputs` array of exactly one tensor.
    static func parse(_ body: Data) throws(InferRequestError) -> InferRequest {
        guard let root = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else {
            throw .badRequest("body must be a JSON object with an 'inputs' array")
        }
        guard let inputs = root["inputs"] as? [[String: Any]], inputs.count == 1 else {
            throw .badRequest("'inputs' must hold exactly one tensor")
        }
        return InferRequest(id: root["id"] as? String, input: inputs[0],
                            parameters: (root["parameters"] as? [String: Any]) ?? [:])
    }

    /// The request parameters as a query string (`name=value&...`), which `RequestOptions`
    /// validates exactly like the v1 routes' query. Names are percent-encoded like values:
    /// a name holding `=`, `&`, `+` or `%` must come back from `HTTPQuery` as the same one
    /// unknown name, not as other parameters (found by fuzz/request-json).
    var query: String {
        parameters.map { k, v in
            "\(Self.percentEncoded(k))=\(Self.percentEncoded(String(describing: v)))"
        }.joined(separator: "&")
    }

    private static func percentEncoded(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
    }

    /// A decoded input tensor: `shape` is `[N, H, W, C]`, `storage` NHWC floats in [0, 1].
    struct DecodedTensor: Equatable {
        var shape: [Int]
        var storage: [Float]
    }

    /// Reads one input tensor for a model taking `[H, W, C]` images (`inputShape`): FP32 in
    /// [0, 1] (clamped) or UINT8 0…255 (scaled by 1/255), shape `[N, H, W, C]` or, with
    /// `"parameters": {"layout": "NCHW"}`, `[N, C, H, W]`; data flat row-major or nested.
    static func decodeTensor(_ input: [String: Any], inputShape: [Int], modelName: String) throws(InferRequestError)
        -> DecodedTensor
    {
        guard let raw = input["shape"] as? [Any], !raw.contains(where: isBoolean),
              let shape = raw as? [Int], shape.count == 4, shape.allSatisfy({ $0 > 0 }) else {
            throw .badRequest("input 'shape' must be 4 positive integers, [N, H, W, C] (or [N, C, H, W] with layout NCHW)")
        }
        let datatype = (input["datatype"] as? String)?.uppercased() ?? ""
        guard datatype == "FP32" || datatype == "UINT8" else {
            throw .badRequest("input 'datatype' must be FP32 or UINT8, got '\(datatype)'")
        }
        let layout = ((input["parameters"] as? [String: Any])?["layout"] as? String)?.uppercased() ?? "NHWC"
        guard layout == "NHWC" || layout == "NCHW" else { throw .badRequest("layout must be NHWC or NCHW, got '\(layout)'") }
        let (h, w, c) = (inputShape[0], inputShape[1], inputShape[2])
        let expected = layout == "NHWC" ? [shape[0], h, w, c] : [shape[0], c, h, w]
        guard shape == expected else {
            throw .badRequest("input shape \(shape) does not fit model '\(modelName)': expected \(expected) (\(layout))")
        }
        guard shape[0] <= 256 else { throw .unprocessable("at most 256 images per inference request") }
        let count = shape.reduce(1, *)
        var flat: [Float] = []
        flat.reserveCapacity(count)
        func collect(_ value: Any) throws(InferRequestError) {
            if let array = value as? [Any] {
                for v in array { try collect(v) }
            } else if !isBoolean(value), let number = value as? NSNumber {
                flat.append(number.floatValue)
            } else {
                throw .badRequest("input 'data' must contain only numbers")
            }
        }
        guard let data = input["data"] else { throw .badRequest("input has no 'data'") }
        try collect(data)
        guard flat.count == count else {
            throw .badRequest("input 'data' has \(flat.count) values; shape \(shape) needs \(count)")
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
        return DecodedTensor(shape: [shape[0], h, w, c], storage: flat)
    }

    /// Whether a decoded JSON value is `true` or `false`. Foundation on Linux returns JSON
    /// booleans as `NSNumber`s (type `__NSCFBoolean`, not `Bool`) that also cast to `Int` and
    /// `Float`, so `type(of:) == Bool.self` alone let `[true, false]` through as 1 and 0;
    /// their type encoding, "c", tells them apart (JSON numbers are "q" or "d").
    static func isBoolean(_ value: Any) -> Bool {
        if type(of: value) == Bool.self { return true }
        guard let number = value as? NSNumber else { return false }
        return number.objCType.pointee == CChar(UInt8(ascii: "c"))
    }
}
