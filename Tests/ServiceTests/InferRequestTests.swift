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
        (#"not json"#, "body must be a JSON object with an 'inputs' array: invalid JSON at byte 0: expected 'null'"),
        (#"[1]"#, "body must be a JSON object with an 'inputs' array"),
        (#"{"inputs": []}"#, "'inputs' must hold exactly one tensor"),
        (#"{"inputs": [{}, {}]}"#, "'inputs' must hold exactly one tensor"),
        (#"{"inputs": [{"data": [1, "2"]}]}"#, "input 'data' must contain only numbers"),
        (#"{"inputs": [{"data": [1]}], "parameters": {"binary_data_output": "yes"}}"#,
         "parameter 'binary_data_output' must be a boolean"),
        (#"{"inputs": [{"data": [1]}], "outputs": [{"name": 3}]}"#, "each requested output needs a string 'name'"),
        (#"{"inputs": [{"parameters": {"binary_data_size": 4}}]}"#,
         "input parameter 'binary_data_size' needs the Inference-Header-Content-Length header"),
    ])
    func malformedBodies_areRefused(body: String, message: String) {
        #expect(throws: InferRequestError.badRequest(message)) { try InferRequest.parse(Data(body.utf8)) }
    }

    /// The reader keeps JSON booleans apart from numbers (Foundation on Linux decoded them
    /// as NSNumbers that cast to Int and Float, fuzz/request-json/corpus/boolean-data).
    @Test func booleans_areNotNumbers() throws {
        #expect(try OIPJSONReader.parse(Data("[true, false, 1, 0, 0.5]".utf8))
            == .array([.bool(true), .bool(false), .number(1), .number(0), .number(0.5)]))
    }

    @Test(arguments: ["01", "1.", ".5", "+1", "1e", "[1,]", "{\"a\" 1}", "\"\\x\"", "\"\\ud800\"", "[1] x", "NaN"])
    func invalidJSON_isRefused(text: String) {
        #expect(throws: (any Error).self) { try OIPJSONReader.parse(Data(text.utf8)) }
    }

    @Test func strings_escapesAndNesting() throws {
        #expect(try OIPJSONReader.parse(Data(#""a\n\u00e9\ud83d\ude00\"""#.utf8)) == .string("a\né😀\""))
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: (any Error).self) { try OIPJSONReader.parse(Data(deep.utf8)) }
    }

    /// An input's `data` is read straight into floats, nested or flat, not into a tree of
    /// boxed numbers (24× the body's size with JSONSerialization).
    @Test func data_isReadIntoFloats() throws {
        let values = (0..<3136).map { String(format: "%.4f", Double($0 % 97) / 97) }
        let nested = "[[" + values[..<1568].joined(separator: ",") + "],[" + values[1568...].joined(separator: ",") + "]]"
        let request = try InferRequest.parse(Data(#"{"inputs": [{"shape": [4, 28, 28, 1], "datatype": "FP32", "data": \#(nested)}]}"#.utf8))
        guard case .floats(let floats) = try #require(request.input.fields["data"]) else {
            Issue.record("data is not floats")
            return
        }
        #expect(floats.count == 3136)
        #expect(floats[1000] == Float(values[1000])!)
    }

    /// Triton's binary tensor data: a JSON header of Inference-Header-Content-Length bytes,
    /// then the raw tensor; it decodes to the same tensor as the JSON form.
    @Test func binaryInput_decodesLikeJSON() throws {
        let pixels: [Float] = [0, 0.25, 0.5, 1]
        let header = Data(#"{"inputs": [{"name": "input", "shape": [1, 2, 2, 1], "datatype": "FP32", "parameters": {"binary_data_size": 16}}], "outputs": [{"name": "probabilities", "parameters": {"binary_data": true}}], "parameters": {"binary_data_output": true, "seed": 3}}"#.utf8)
        var body = header
        for p in pixels { withUnsafeBytes(of: p.bitPattern.littleEndian) { body.append(contentsOf: $0) } }
        let binary = try InferRequest.parse(body, headerLength: header.count)
        #expect(binary.binaryDataOutput)
        #expect(binary.outputs == [.init(name: "probabilities", binary: true)])
        #expect(binary.query == "seed=3")
        let json = try InferRequest.parse(Data(#"{"inputs": [{"shape": [1, 2, 2, 1], "datatype": "FP32", "data": [0, 0.25, 0.5, 1]}]}"#.utf8))
        let a = try InferRequest.decodeTensor(binary.input, inputShape: [2, 2, 1], modelName: "m")
        let b = try InferRequest.decodeTensor(json.input, inputShape: [2, 2, 1], modelName: "m")
        #expect(a == b && a.storage == pixels)
        // One byte short, and a header length past the body, are refused.
        #expect(throws: InferRequestError.self) { try InferRequest.parse(body.dropLast(), headerLength: header.count) }
        #expect(throws: InferRequestError.self) { try InferRequest.parse(body, headerLength: body.count + 1) }
        // UINT8 binary: one byte per value.
        let u8 = Data(#"{"inputs": [{"shape": [1, 2, 2, 1], "datatype": "UINT8", "parameters": {"binary_data_size": 4}}]}"#.utf8)
        let r = try InferRequest.parse(u8 + Data([0, 51, 255, 102]), headerLength: u8.count)
        #expect(try InferRequest.decodeTensor(r.input, inputShape: [2, 2, 1], modelName: "m").storage == [0, 0.2, 1, 0.4])
    }

    static func input(_ json: String) throws -> InferRequest.Input {
        try InferRequest.parse(Data(#"{"inputs": [\#(json)]}"#.utf8)).input
    }

    @Test func tensor_isDecodedAndTransposed() throws {
        // [N, C, H, W] = [1, 3, 1, 2]: channel planes 0…1, 2…3, 4…5 become pixels (0,2,4), (1,3,5).
        let input = try Self.input(#"{"shape": [1, 3, 1, 2], "datatype": "uint8", "data": [[0, 51], [102, 153], [204, 255]], "parameters": {"layout": "NCHW"}}"#)
        let t = try InferRequest.decodeTensor(input, inputShape: [1, 2, 3], modelName: "m")
        #expect(t.shape == [1, 1, 2, 3])
        #expect(t.storage == [0, 0.4, 0.8, 0.2, 0.6, 1])
    }

    @Test(arguments: [
        (#"{"shape": [9223372036854775807, 9223372036854775807, 2, 1], "datatype": "FP32", "data": []}"#, false),
        (#"{"shape": [257, 2, 2, 1], "datatype": "FP32", "data": []}"#, true),
        (#"{"shape": [1, 2, 2, 1], "datatype": "FP32", "data": [1e300, 0, 0, 0]}"#, false),
        // Booleans are not numbers (fuzz/request-json/corpus/boolean-data).
        (#"{"shape": [1, 2, 2, 1], "datatype": "FP32", "data": [true, 0, 0, 0]}"#, false),
        (#"{"shape": [1, 2, 2, 1], "datatype": "UINT8", "data": [[false, true], [true, false]]}"#, false),
        (#"{"shape": [true, 2, 2, 1], "datatype": "FP32", "data": [0, 0, 0, 0]}"#, false),
        (#"{"shape": [1, 2, 2, 1], "datatype": "UINT8", "data": [0, 1, 2, 2.5]}"#, false),
        (#"{"shape": [1, 2, 2, 1], "datatype": "FP32", "data": [0, 0, 0]}"#, false),
        (#"{"shape": [1, 2, 2, 1], "datatype": "FP32", "data": [0, 0, 0, 0], "parameters": {"layout": 1}}"#, false),
    ])
    func badTensors_areRefused(json: String, unprocessable: Bool) throws {
        do {
            _ = try InferRequest.decodeTensor(try Self.input(json), inputShape: [2, 2, 1], modelName: "m")
            Issue.record("accepted \(json)")
        } catch {
            if case .unprocessable = error as? InferRequestError { #expect(unprocessable) } else { #expect(!unprocessable) }
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
            let message = reply.json["error"] as? String ?? ""
            #expect(message.contains("unknown request parameter 'purifier=none&top_k'"))
        }
    }
}
