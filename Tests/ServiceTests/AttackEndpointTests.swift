import Testing
import Foundation
import Imaging
@testable import Service

@Suite("POST /v1/attack")
struct AttackEndpointTests {
    /// Decodes a panel's base64 PNG.
    static func image(_ panel: AttackResponse.Panel) throws -> Image {
        let bytes = try #require(Data(base64Encoded: panel.image))
        return try ImageDecoder.decode(Array(bytes), maxPixels: 1 << 20)
    }

    static func linfLevels(_ a: Image, _ b: Image) -> Int {
        zip(a.pixels, b.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 0
    }

    @Test(arguments: [("fgsm", 1), ("pgd", 5)])
    func attack_returnsThreeImagesWithinEpsilon(attack: String, steps: Int) async throws {
        try await TestService.with { s in
            let eps = 0.1
            let r = try await s.request("POST", "/v1/attack?attack=\(attack)&eps=\(eps)&steps=\(steps)&purifier=vae&seed=3",
                                        body: try TestService.png(width: 20, height: 14), headers: ["Content-Type": "image/png"])
            #expect(r.status == 200, "\(String(decoding: r.body, as: UTF8.self))")
            let body = try r.decode(AttackResponse.self)
            var images: [Image] = []
            for (name, panel) in [("original", body.original), ("adversarial", body.adversarial), ("purified", body.purified)] {
                let img = try Self.image(panel)
                #expect(img.width == 8 && img.height == 8 && img.channels == 1, "\(name) is at model resolution")
                images.append(img)
                #expect(panel.predictions.count == 3)
                let confidences = panel.predictions.map(\.confidence)
                #expect(confidences == confidences.sorted(by: >))
                #expect(panel.predictions.allSatisfy { ["zero", "one", "two"][$0.index] == $0.label })
                #expect(panel.reconstructionError >= 0)
            }
            let info = body.attack
            #expect(info.name == attack)
            #expect(info.steps == steps)
            #expect(abs(Double(info.eps) - eps) < 1e-6)
            let linf = Double(info.linf)
            #expect(linf > 0 && linf <= eps + 1.0 / 255)
            #expect(Double(info.l2) >= linf)
            // The PNGs themselves stay in the ball (8-bit levels).
            let levels = Self.linfLevels(images[0], images[1])
            #expect(levels > 0 && Double(levels) <= eps * 255 + 1)
            #expect(body.model.name == "toy")
            #expect(body.purifier.name == "vae")
            #expect(body.requestId == r.header("X-Request-Id"))
            #expect(body.timings.totalMs >= 0)
            #expect(body.threshold > 0)
        }
    }

    @Test func attackNone_multipartRGB_jpegPurifier() async throws {
        try await TestService.with { s in
            let (body, type) = TestService.multipart([try TestService.png(width: 8, height: 8, channels: 3, seed: 7)])
            let r = try await s.request("POST", "/v1/attack?model=toyrgb&attack=none&purifier=jpeg&quality=40&top_k=2",
                                        body: body, headers: ["Content-Type": type])
            #expect(r.status == 200, "\(String(decoding: r.body, as: UTF8.self))")
            let reply = try r.decode(AttackResponse.self)
            let original = try Self.image(reply.original)
            let adversarial = try Self.image(reply.adversarial)
            #expect(original.channels == 3 && original == adversarial)
            #expect(reply.attack.linf == 0)
            #expect(reply.purified.predictions.count == 2)
            #expect(reply.purifier.settings["quality"] == "40")
        }
    }

    @Test func seededPGD_isReproducible() async throws {
        try await TestService.with { s in
            let path = "/v1/attack?attack=pgd&eps=0.05&steps=3&purifier=none&seed=11"
            let a = try await s.request("POST", path, body: try TestService.png(seed: 5))
            let b = try await s.request("POST", path, body: try TestService.png(seed: 5))
            #expect(a.status == 200 && b.status == 200)
            #expect(try a.decode(AttackResponse.self).adversarial.image == (try b.decode(AttackResponse.self).adversarial.image))
        }
    }

    @Test(arguments: [
        ("attack=fgsm&eps=0", 400, "eps"),
        ("attack=fgsm&eps=2", 400, "eps"),
        ("attack=fgsm&eps=-0.1", 400, "eps"),
        ("attack=fgsm&eps=nan", 400, "eps"),
        ("attack=fgsm&eps=abc", 400, "eps"),
        ("attack=foo", 400, "attack must be one of none, fgsm, pgd"),
        ("attack=pgd&steps=0", 400, "steps"),
        ("attack=pgd&steps=101", 400, "steps"),
        ("attack=pgd&steps=x", 400, "steps"),
        ("purifier=magic", 400, "purifier"),
        ("samples=0", 400, "samples"),
        ("colour=red", 400, "unknown query parameter"),
        ("model=nope", 404, "unknown model"),
    ])
    func badParameters_areClientErrorsWithMessages(query: String, status: Int, message: String) async throws {
        try await TestService.with { s in
            let r = try await s.request("POST", "/v1/attack?" + query, body: try TestService.png())
            #expect(r.status == status)
            let error = r.error?.message ?? ""
            #expect(error.contains(message), "\(query): \(error)")
        }
    }

    @Test func badBodies_andPixelLimit() async throws {
        var cfg = TestService.configuration()
        cfg.purification.maxImagePixels = 100
        try await TestService.with(cfg) { s in
            let emptyBody = try await s.request("POST", "/v1/attack", body: Data()).status
            #expect(emptyBody == 400)
            let gif = try await s.request("POST", "/v1/attack", body: Data("GIF89a....".utf8)).status
            #expect(gif == 415)
            let tooManyPixels = try await s.request("POST", "/v1/attack", body: try TestService.png(width: 20, height: 14)).status
            #expect(tooManyPixels == 422)
            let wrongMethod = try await s.request("GET", "/v1/attack").status
            #expect(wrongMethod == 405)
        }
    }

    @Test func apiKey_isRequiredWhenConfigured_pageStaysOpen() async throws {
        var cfg = TestService.configuration()
        cfg.auth.apiKeys = ["s3cret"]
        try await TestService.with(cfg) { s in
            let png = try TestService.png()
            let missing = try await s.request("POST", "/v1/attack?attack=fgsm&eps=0.1", body: png)
            #expect(missing.status == 401)
            let wrong = try await s.request("POST", "/v1/attack?attack=fgsm&eps=0.1", body: png, headers: ["X-API-Key": "nope"])
            #expect(wrong.status == 401)
            let ok = try await s.request("POST", "/v1/attack?attack=fgsm&eps=0.1", body: png, headers: ["X-API-Key": "s3cret"])
            #expect(ok.status == 200)
            let bearer = try await s.request("POST", "/v1/attack?attack=none", body: png, headers: ["Authorization": "Bearer s3cret"])
            #expect(bearer.status == 200)
            let page = try await s.request("GET", "/").status
            #expect(page == 200)
            let sample = try await s.request("GET", "/demo/samples/mnist-7.png").status
            #expect(sample == 200)
        }
    }
}
