import Testing
import Foundation
@testable import Service

@Suite("Open Inference Protocol v2")
struct OpenInferenceTests {
    @Test func serverAndModelMetadata() async throws {
        try await TestService.with { s in
            #expect(try await s.request("GET", "/v2").json["name"] as? String == "vaeguard")
            #expect(try await s.request("GET", "/v2/health/live").status == 200)
            #expect(try await s.request("GET", "/v2/health/ready").status == 200)
            let meta = try await s.request("GET", "/v2/models/toy").json
            let input = try #require((meta["inputs"] as? [[String: Any]])?.first)
            #expect(input["shape"] as? [Int] == [-1, 8, 8, 1])
            #expect(try await s.request("GET", "/v2/models/toy/ready").status == 200)
            #expect(try await s.request("GET", "/v2/models/nope").status == 404)
        }
    }

    func body(_ shape: [Int], _ datatype: String, _ data: [Any], layout: String? = nil, parameters: [String: Any] = [:]) throws -> Data {
        var input: [String: Any] = ["name": "input", "shape": shape, "datatype": datatype, "data": data]
        if let layout { input["parameters"] = ["layout": layout] }
        return try JSONSerialization.data(withJSONObject: ["id": "abc", "inputs": [input], "parameters": parameters])
    }

    @Test func infer_fp32NHWC_and_uint8NCHW_agree() async throws {
        try await TestService.with { s in
            let pixels = (0..<128).map { Float(($0 * 37) % 256) }
            let fp32 = try await s.request("POST", "/v2/models/toy/infer",
                                           body: try body([2, 8, 8, 1], "FP32", pixels.map { $0 / 255 }, parameters: ["purifier": "none"]))
            #expect(fp32.status == 200)
            #expect(fp32.json["id"] as? String == "abc")
            let outputs = try #require(fp32.json["outputs"] as? [[String: Any]])
            #expect(outputs.map { $0["name"] as? String } == ["probabilities", "reconstruction_error", "suspected_adversarial"])
            #expect(outputs[0]["shape"] as? [Int] == [2, 3])
            // One channel: NCHW and NHWC hold the same numbers; UINT8 is scaled by 1/255.
            let uint8 = try await s.request("POST", "/v2/models/toy/infer",
                                            body: try body([2, 1, 8, 8], "UINT8", pixels.map { Int($0) }, layout: "NCHW", parameters: ["purifier": "none"]))
            let a = (outputs[0]["data"] as? [NSNumber])?.map(\.floatValue) ?? []
            let b = ((uint8.json["outputs"] as? [[String: Any]])?[0]["data"] as? [NSNumber])?.map(\.floatValue) ?? []
            #expect(a.count == 6 && b.count == 6)
            #expect(zip(a, b).allSatisfy { abs($0 - $1) < 1e-5 })
        }
    }

    @Test(arguments: [
        (#"{"inputs": []}"#, 400), (#"not json"#, 400),
        (#"{"inputs": [{"shape": [1, 8, 8, 3], "datatype": "FP32", "data": []}]}"#, 400),
        (#"{"inputs": [{"shape": [1, 8, 8, 1], "datatype": "INT64", "data": [1]}]}"#, 400),
        (#"{"inputs": [{"shape": [1, 8, 8, 1], "datatype": "FP32", "data": [1, 2]}]}"#, 400),
        (#"{"inputs": [{"shape": [1, 8, 8, 1], "datatype": "UINT8", "data": [300]}]}"#, 400),
    ])
    func infer_badTensors_are400(body: String, status: Int) async throws {
        try await TestService.with { s in
            let reply = try await s.request("POST", "/v2/models/toy/infer", body: Data(body.utf8))
            #expect(reply.status == status)
        }
    }
}
