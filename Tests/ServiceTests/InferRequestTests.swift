import Foundation
import HTTPServer
import Testing
@testable import Service

/// The Open Inference infer body decoding (`InferRequest`), and inputs found by the
/// request-JSON fuzzer (fuzz/request-json, scripts/fuzz.sh request-json), which are also kept
/// in fuzz/request-json/corpus.
@Suite("Open Inference request decoding")
struct InferRequestTests {
    /// Parameter names went into the query string unescaped, so a name holding '=' or '&'
    /// came back from HTTPQuery as other parameters: {"top_k=5&seed": "1"} became top_k=5
    /// and seed=1. Corpus: fuzz/request-json/corpus/crash-parameter-name-with-equals,
    /// parameter-names-to-escape.
    @Test func parameterNames_surviveTheQueryString() throws {
        let body = #"{"inputs": [{"shape": [1, 2, 2, 1], "datatype": "FP32", "data": [0, 0, 0, 0]}], "#
            + #""parameters": {"top_k=5&seed": "1", "a+b": "c d", "%41": "x", "purifier": "none", "samples": 4}}"#
        let request = try InferRequest.parse(Data(body.utf8))
        let items = HTTPQuery(request.query).items.map { "\($0.name)=\($0.value)" }.sorted()
        #expect(items == ["%41=x", "a+b=c d", "purifier=none", "samples=4", "top_k=5&seed=1"])
    }

    @Test(arguments: [
        (#"not json"#, "body must be a JSON object with an 'inputs' array"),
        (#"[1]"#, "body must be a JSON object with an 'inputs' array"),
        (#"{"inputs": []}"#, "'inputs' must hold exactly one tensor"),
        (#"{"inputs": [{}, {}]}"#, "'inputs' must hold exactly one tensor"),
    ])
    func malformedBodies_areRefused(body: String, message: String) {
        #expect(throws: InferRequestError.badRequest(message)) { try InferRequest.parse(Data(body.utf8)) }
    }

    @Test func booleans_areNotNumbers() throws {
        let decoded = try #require(try JSONSerialization.jsonObject(with: Data("[true, false, 1, 0, 0.5]".utf8)) as? [Any])
        #expect(decoded.map(InferRequest.isBoolean) == [true, true, false, false, false])
        #expect(InferRequest.isBoolean(true as Any))
        #expect(!InferRequest.isBoolean(1 as Any))
    }

    @Test func tensor_isDecodedAndTransposed() throws {
        // [N, C, H, W] = [1, 3, 1, 2]: channel planes 0…1, 2…3, 4…5 become pixels (0,2,4), (1,3,5).
        let input: [String: Any] = ["shape": [1, 3, 1, 2], "datatype": "uint8", "data": [[0, 51], [102, 153], [204, 255]],
                                    "parameters": ["layout": "NCHW"]]
        let t = try InferRequest.decodeTensor(input, inputShape: [1, 2, 3], modelName: "m")
        #expect(t.shape == [1, 1, 2, 3])
        #expect(t.storage == [0, 0.4, 0.8, 0.2, 0.6, 1])
    }

    @Test(arguments: [
        (#"{"shape": [9223372036854775807, 9223372036854775807, 2, 1], "datatype": "FP32", "data": []}"#, false),
        (#"{"shape": [257, 2, 2, 1], "datatype": "FP32", "data": []}"#, true),
        (#"{"shape": [1, 2, 2, 1], "datatype": "FP32", "data": [1e300, 0, 0, 0]}"#, false),
        // Foundation on Linux decodes JSON booleans as NSNumbers that cast to Int and Float;
        // they used to pass as 1 and 0 (fuzz/request-json/corpus/boolean-data).
        (#"{"shape": [1, 2, 2, 1], "datatype": "FP32", "data": [true, 0, 0, 0]}"#, false),
        (#"{"shape": [1, 2, 2, 1], "datatype": "UINT8", "data": [[false, true], [true, false]]}"#, false),
        (#"{"shape": [true, 2, 2, 1], "datatype": "FP32", "data": [0, 0, 0, 0]}"#, false),
        (#"{"shape": [1, 2, 2, 1], "datatype": "UINT8", "data": [0, 1, 2, 2.5]}"#, false),
        (#"{"shape": [1, 2, 2, 1], "datatype": "FP32", "data": [0, 0, 0]}"#, false),
    ])
    func badTensors_areRefused(json: String, unprocessable: Bool) throws {
        let input = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        do {
            _ = try InferRequest.decodeTensor(input, inputShape: [2, 2, 1], modelName: "m")
            Issue.record("accepted \(json)")
        } catch {
            if case .unprocessable = error { #expect(unprocessable) } else { #expect(!unprocessable) }
        }
    }

    /// End to end: a parameter name holding '=' and '&' is one unknown parameter (400), not
    /// the options it spells.
    @Test func infer_parameterNameWithSeparators_isUnknownParameter() async throws {
        try await TestService.with { s in
            let pixels = [Float](repeating: 0.5, count: 64)
            let body = try JSONSerialization.data(withJSONObject: [
                "inputs": [["name": "input", "shape": [1, 8, 8, 1], "datatype": "FP32", "data": pixels]],
                "parameters": ["purifier=none&top_k": "5"],
            ] as [String: Any])
            let reply = try await s.request("POST", "/v2/models/toy/infer", body: body)
            #expect(reply.status == 400)
            let message = (reply.json["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(message.contains("unknown query parameter 'purifier=none&top_k'"))
        }
    }
}
