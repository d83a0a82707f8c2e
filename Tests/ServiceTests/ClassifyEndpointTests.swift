import Testing
import Foundation
import Imaging
@testable import Service

@Suite("v1 endpoints")
struct ClassifyEndpointTests {
    @Test func classify_rawPNG_returnsSortedPredictionsAndDefenseFields() async throws {
        try await TestService.with { s in
            let r = try await s.request("POST", "/v1/classify?purifier=vae&top_k=3", body: try TestService.png(), headers: ["Content-Type": "image/png"])
            #expect(r.status == 200)
            let body = try r.decode(ClassifyResponse.self)
            let predictions = try #require(body.predictions)
            #expect(predictions.count == 3)
            let confidences = predictions.map(\.confidence)
            #expect(confidences == confidences.sorted(by: >))
            #expect(abs(confidences.reduce(0, +) - 1) < 1e-4)
            #expect(predictions.allSatisfy { ["zero", "one", "two"][$0.index] == $0.label })
            #expect(body.model.version == "1.0.0")
            #expect(body.purifier.name == "vae")
            #expect(body.reconstructionError != nil)
            #expect(body.suspectedAdversarial != nil)
            #expect(body.requestId == r.header("X-Request-Id"))
            #expect(body.timings.totalMs >= 0)
        }
    }

    @Test func classify_sniffsJPEGWithoutContentType_andResizes() async throws {
        try await TestService.with { s in
            let image = try Image(width: 20, height: 13, channels: 3, fill: 128)
            let r = try await s.request("POST", "/v1/classify?model=toyrgb&purifier=jpeg&quality=50", body: Data(try image.jpegData()))
            #expect(r.status == 200)
            let result = try #require(try r.decode(ClassifyResponse.self).results.first)
            #expect(result.width == 20 && result.height == 13)
        }
    }

    @Test func classify_multipartBatch_returnsOneResultPerImage() async throws {
        try await TestService.with { s in
            let (body, type) = TestService.multipart([try TestService.png(seed: 1), try TestService.png(seed: 2), try TestService.png(seed: 3)])
            let r = try await s.request("POST", "/v1/classify?purifier=patch-vae&samples=2", body: body, headers: ["Content-Type": type])
            #expect(r.status == 200)
            let results = try r.decode(ClassifyResponse.self).results
            #expect(results.count == 3)
            #expect(results.map(\.filename) == ["img0.png", "img1.png", "img2.png"])
            #expect(r.json["predictions"] == nil)   // the key is absent, not null
        }
    }

    @Test(arguments: [
        ("/v1/classify", Data(), 400, "empty body"),
        ("/v1/classify", Data("GIF89a....".utf8), 415, "GIF"),
        ("/v1/classify", Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3]), 400, "PNG"),
        ("/v1/classify?model=nope", Data([1]), 404, "unknown model"),
        ("/v1/classify?samples=0", Data([1]), 400, "samples"),
        ("/v1/classify?samples=1000000000", Data([1]), 400, "samples"),
        ("/v1/classify?purifier=jpeg&quality=500", Data([1]), 400, "quality"),
        ("/v1/classify?purifier=magic", Data([1]), 400, "purifier"),
        ("/v1/classify?colour=red", Data([1]), 400, "unknown query parameter"),
        ("/v1/classify?seed=-4", Data([1]), 400, "seed"),
    ])
    func badInput_getsAClearJSONError(path: String, body: Data, status: Int, mentions: String) async throws {
        try await TestService.with { s in
            let r = try await s.request("POST", path, body: body)
            #expect(r.status == status)
            let error = try #require(r.error)
            #expect(error.code == status)
            #expect(error.message.localizedCaseInsensitiveContains(mentions), "\(error.message)")
            #expect(try await s.request("GET", "/healthz").status == 200)
        }
    }

    @Test func multipartWithoutImagePart_is400() async throws {
        try await TestService.with { s in
            let body = Data("--b\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n--b--\r\n".utf8)
            let r = try await s.request("POST", "/v1/classify", body: body, headers: ["Content-Type": "multipart/form-data; boundary=b"])
            #expect(r.status == 400)
        }
    }

    @Test func purify_returnsPNGOfTheSameSize_orJPEGWhenAsked() async throws {
        try await TestService.with { s in
            let input = try TestService.png(width: 30, height: 17)
            let png = try await s.request("POST", "/v1/purify?seed=3", body: input, headers: ["Content-Type": "image/png"])
            #expect(png.status == 200)
            #expect(png.header("Content-Type") == "image/png")
            #expect(png.header("X-VAEGuard-Purifier") == "patch-vae")   // any size → patch VAE by default
            let decoded = try ImageDecoder.decode(Array(png.body))
            #expect((decoded.width, decoded.height) == (30, 17))
            // The identity stand-in VAE gives the input back.
            #expect(decoded == (try ImageDecoder.decode(Array(input))))
            let jpeg = try await s.request("POST", "/v1/purify", body: input, headers: ["Accept": "image/jpeg"])
            #expect(jpeg.header("Content-Type") == "image/jpeg")
            #expect(try ImageDecoder.probe(Array(jpeg.body)).format == .jpeg)
        }
    }

    @Test func models_listsLabelsShapesAndPurifiers() async throws {
        try await TestService.with { s in
            let r = try await s.request("GET", "/v1/models")
            #expect(r.status == 200)
            let models = try r.decode(ModelListing.self).models
            #expect(models.map(\.name) == ["toy", "toyrgb"])
            #expect(models[0].inputShape == [8, 8, 1])
            #expect(models[0].purifiers == ["none", "jpeg", "vae", "patch-vae"])
        }
    }

    @Test func modelEntryDefaultPurifier_appliesWhenTheRequestNamesNone() async throws {
        var cfg = TestService.configuration()
        cfg.models.entries[1].defaultPurifier = .jpeg
        try await TestService.with(cfg) { s in
            func purifier(_ query: String, channels: Int) async throws -> String? {
                let r = try await s.request("POST", "/v1/classify?" + query, body: try TestService.png(channels: channels))
                return try r.decode(ClassifyResponse.self).purifier.name
            }
            let configured = try await purifier("model=toyrgb", channels: 3)
            let asked = try await purifier("model=toyrgb&purifier=vae", channels: 3)
            let global = try await purifier("model=toy", channels: 1)
            #expect(configured == "jpeg")
            #expect(asked == "vae")
            #expect(global == "vae")
        }
    }
}
