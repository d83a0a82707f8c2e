import Testing
import Foundation
import Purification
@testable import Service
import TestSupport

/// What real Triton and KServe clients rely on (issue 17): `{"error": "<string>"}` bodies,
/// versioned routes, a boolean `ready`, `outputs` selection, Triton's binary tensor data,
/// `binary_data_output`, and the same default purifier as /v1.
@Suite("Open Inference Protocol conformance")
struct OpenInferenceProtocolTests {
    static let pixels = (0..<64).map { Float(($0 * 29) % 64) / 63 }

    func jsonBody(outputs: [[String: Any]]? = nil, parameters: [String: Any] = ["seed": 5]) throws -> Data {
        var root: [String: Any] = ["inputs": [["name": "input", "shape": [1, 8, 8, 1], "datatype": "FP32", "data": Self.pixels]],
                                   "parameters": parameters]
        if let outputs { root["outputs"] = outputs }
        return try JSONSerialization.data(withJSONObject: root)
    }

    /// The binary form: JSON header, then the input's FP32 bytes.
    func binaryBody(outputs: [[String: Any]]? = nil, parameters: [String: Any]) throws -> (Data, Int) {
        var root: [String: Any] = ["inputs": [["name": "input", "shape": [1, 8, 8, 1], "datatype": "FP32",
                                              "parameters": ["binary_data_size": 256]]],
                                   "parameters": parameters]
        if let outputs { root["outputs"] = outputs }
        var body = try JSONSerialization.data(withJSONObject: root)
        let header = body.count
        for p in Self.pixels { withUnsafeBytes(of: p.bitPattern.littleEndian) { body.append(contentsOf: $0) } }
        return (body, header)
    }

    @Test func errors_areOneString_onV2_andAnObject_onV1() async throws {
        var cfg = TestService.configuration()
        try await TestService.with(cfg) { s in
            for (method, path, status) in [("GET", "/v2/models/nope", 404), ("GET", "/v2/nothing", 404),
                                           ("POST", "/v2/models/toy/infer", 400), ("GET", "/v2/models/toy/versions/9.9.9", 404)] {
                let r = try await s.request(method, path, body: method == "POST" ? Data("{}".utf8) : nil)
                #expect(r.status == status, "\(path)")
                let message = try #require(r.json["error"] as? String, "\(path): \(String(decoding: r.body, as: UTF8.self))")
                #expect(!message.isEmpty)
            }
            let v1 = try await s.request("GET", "/v1/nothing")
            #expect((v1.json["error"] as? [String: Any])?["code"] as? Int == 404)
        }
        cfg.auth.apiKeys = ["k"]
        try await TestService.with(cfg) { s in
            let r = try await s.request("GET", "/v2/models/toy")
            #expect(r.status == 401)
            #expect(r.json["error"] as? String != nil)
        }
    }

    /// Errors the server answers before any route runs (here a body over the limit, 413)
    /// keep the protocol's shape too: tritonclient must not crash on them.
    @Test func errorsBeforeRouting_areOneString_onV2_andAnObject_onV1() async throws {
        var cfg = TestService.configuration()
        cfg.server.maxBodyBytes = 1024
        cfg.server.maxBufferedRequestBytes = 1 << 20
        try await TestService.with(cfg, sockets: true) { s in   // the 413 comes from the connection
            let port = UInt16(s.service.port)
            for (path, v2) in [("/v2/models/toy/infer", true), ("//v2/models/toy/infer?x=1", true),
                               ("http://h/v2/models/toy/infer", true), ("/v1/classify", false)] {
                let client = try RawClient(port: port, timeout: 60)
                client.sendAllowingEarlyClose(Array("POST \(path) HTTP/1.1\r\nHost: h\r\nContent-Length: 5000\r\n\r\n".utf8))
                let reply = try await client.readResponse()
                #expect(reply.status == 413, "\(path)")
                let json = try JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any]
                if v2 {
                    #expect(json?["error"] is String, "\(path): \(reply.bodyString)")
                } else {
                    #expect((json?["error"] as? [String: Any])?["code"] as? Int == 413, "\(path): \(reply.bodyString)")
                }
            }
        }
    }

    @Test func versionedRoutes_andBooleanReady() async throws {
        try await TestService.with { s in
            let ready = try await s.request("GET", "/v2/models/toy/ready")
            #expect(ready.status == 200)
            #expect(String(decoding: ready.body, as: UTF8.self).contains(#""ready":true"#))
            #expect(try await s.request("GET", "/v2/models/toy/versions/1.0.0/ready").status == 200)
            #expect(try await s.request("GET", "/v2/models/toy/versions/2.0.0/ready").status == 404)
            let meta = try await s.request("GET", "/v2/models/toy/versions/1.0.0")
            #expect(meta.json["versions"] as? [String] == ["1.0.0"])
            let infer = try await s.request("POST", "/v2/models/toy/versions/1.0.0/infer", body: try jsonBody())
            #expect(infer.status == 200)
            #expect(infer.json["model_version"] as? String == "1.0.0")
        }
    }

    /// KServe's client reads a model as ready from a 2xx status alone: a draining server
    /// must answer 503 (with `ready` false), not 200.
    @Test func modelReady_whileDraining_is503() async throws {
        try await TestService.with { s in
            s.service.context.setDraining()
            let r = try await s.request("GET", "/v2/models/toy/ready")
            #expect(r.status == 503)
            #expect(String(decoding: r.body, as: UTF8.self).contains(#""ready":false"#))
        }
    }

    @Test func outputs_areTheListedOnes_inTheirOrder() async throws {
        try await TestService.with { s in
            let r = try await s.request("POST", "/v2/models/toy/infer",
                                        body: try jsonBody(outputs: [["name": "suspected_adversarial"], ["name": "probabilities"]]))
            let names = (r.json["outputs"] as? [[String: Any]])?.map { $0["name"] as? String }
            #expect(names == ["suspected_adversarial", "probabilities"])
            let bad = try await s.request("POST", "/v2/models/toy/infer", body: try jsonBody(outputs: [["name": "logits"]]))
            #expect(bad.status == 400)
            #expect((bad.json["error"] as? String)?.contains("unknown output 'logits'") == true)
        }
    }

    /// tritonclient's default: binary input, no outputs listed, binary_data_output=true. The
    /// reply is the JSON header (Inference-Header-Content-Length bytes) then the outputs'
    /// bytes, and it holds the same numbers as the JSON exchange with the same seed.
    @Test func binaryTensorData_inAndOut_matchesJSON() async throws {
        try await TestService.with { s in
            let json = try await s.request("POST", "/v2/models/toy/infer", body: try jsonBody())
            let expected = try #require((json.json["outputs"] as? [[String: Any]])?[0]["data"] as? [NSNumber]).map(\.floatValue)
            let (body, header) = try binaryBody(parameters: ["seed": 5, "binary_data_output": true])
            let r = try await s.request("POST", "/v2/models/toy/infer", body: body,
                                        headers: ["Inference-Header-Content-Length": String(header),
                                                  "Content-Type": "application/octet-stream"])
            #expect(r.status == 200, "\(String(decoding: r.body, as: UTF8.self))")
            let length = try #require(r.header("Inference-Header-Content-Length").flatMap { Int($0) })
            let head = try #require(try JSONSerialization.jsonObject(with: r.body.prefix(length)) as? [String: Any])
            let outputs = try #require(head["outputs"] as? [[String: Any]])
            #expect(outputs.map { ($0["parameters"] as? [String: Any])?["binary_data_size"] as? Int } == [12, 4, 1])
            #expect(outputs.allSatisfy { $0["data"] == nil })
            let bytes = Array(r.body.dropFirst(length))
            #expect(bytes.count == 17)
            let probabilities = (0..<3).map { i in
                Float(bitPattern: UInt32(bytes[4 * i]) | UInt32(bytes[4 * i + 1]) << 8 | UInt32(bytes[4 * i + 2]) << 16 | UInt32(bytes[4 * i + 3]) << 24)
            }
            #expect(probabilities == expected)
            #expect(bytes[16] <= 1)
            // Binary input with JSON output: no header in the reply.
            let (plain, h2) = try binaryBody(parameters: ["seed": 5])
            let r2 = try await s.request("POST", "/v2/models/toy/infer", body: plain, headers: ["Inference-Header-Content-Length": String(h2)])
            #expect(r2.header("Inference-Header-Content-Length") == nil)
            #expect(((r2.json["outputs"] as? [[String: Any]])?[0]["data"] as? [NSNumber])?.map(\.floatValue) == expected)
        }
    }

    /// A per-output binary_data overrides binary_data_output.
    @Test func perOutputBinaryFlag_overridesTheRequestDefault() async throws {
        try await TestService.with { s in
            let body = try jsonBody(outputs: [["name": "probabilities", "parameters": ["binary_data": false]], ["name": "reconstruction_error"]],
                                    parameters: ["binary_data_output": true])
            let r = try await s.request("POST", "/v2/models/toy/infer", body: body)
            let length = try #require(r.header("Inference-Header-Content-Length").flatMap { Int($0) })
            let head = try #require(try JSONSerialization.jsonObject(with: r.body.prefix(length)) as? [String: Any])
            let outputs = try #require(head["outputs"] as? [[String: Any]])
            #expect((outputs[0]["data"] as? [NSNumber])?.count == 3)
            #expect((outputs[1]["parameters"] as? [String: Any])?["binary_data_size"] as? Int == 4)
            #expect(r.body.count == length + 4)
        }
    }

    /// Defect 3: /v2 took the global default purifier while /v1 took the model entry's.
    @Test func defaultPurifier_isTheSameOnEveryRoute() async throws {
        var cfg = TestService.configuration()
        cfg.models.entries[0].defaultPurifier = .patchVAE
        try await TestService.with(cfg) { s in
            let v2 = try await s.request("POST", "/v2/models/toy/infer", body: try jsonBody(parameters: [:]))
            #expect((v2.json["parameters"] as? [String: Any])?["purifier"] as? String == "patch-vae")
            let v1 = try await s.request("POST", "/v1/classify?model=toy", body: try TestService.png())
            #expect((v1.json["purifier"] as? [String: Any])?["name"] as? String == "patch-vae")
            let listing = try #require((try await s.request("GET", "/v1/models").json["models"] as? [[String: Any]])?.first { $0["name"] as? String == "toy" })
            #expect(listing["default_purifier"] as? String == "patch-vae")
            #expect((listing["threshold"] as? NSNumber)?.floatValue == (v1.json["threshold"] as? NSNumber)?.floatValue)
            let purified = try await s.request("POST", "/v1/purify?model=toy", body: try TestService.png())
            #expect(purified.header("X-VAEGuard-Purifier") == "patch-vae")
        }
    }

    @Test func binaryDataOutput_isAcceptedAndUnknownParametersAreNamedAsSuch() async throws {
        try await TestService.with { s in
            let r = try await s.request("POST", "/v2/models/toy/infer", body: try jsonBody(parameters: ["colour": "blue"]))
            #expect(r.status == 400)
            #expect(r.json["error"] as? String == nil ? false : (r.json["error"] as! String).hasPrefix("unknown request parameter 'colour'"))
        }
    }
}
