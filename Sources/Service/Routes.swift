import Foundation
import HTTPServer
import Purification

/// The service's routes. Handlers are small: parse, hand CPU work to the scheduler, encode.
enum Routes {
    static func router(_ ctx: ServiceContext) -> Router {
        var r = Router()
        // Health and operations (open without API key).
        r.get("/healthz") { _ in try .json(["status": "ok"]) }
        r.get("/readyz") { _ in try readiness(ctx) }
        r.get("/openapi.yaml") { _ in
            var h = HTTPHeaders()
            h["Content-Type"] = "application/yaml; charset=utf-8"
            return HTTPResponse(status: .ok, headers: h, body: Array(OpenAPIDocument.yaml.utf8))
        }
        r.get("/metrics") { _ in
            var h = HTTPHeaders()
            h["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8"
            return HTTPResponse(status: .ok, headers: h, body: ctx.metrics.render())
        }
        r.get("/") { _ in DemoPage.response() }
        r.get("/demo/samples/:name") { try DemoPage.sample($0) }
        // v1 API
        r.get("/v1/models") { _ in try models(ctx) }
        r.post("/v1/classify") { try await classify($0, ctx) }
        r.post("/v1/purify") { try await purify($0, ctx) }
        r.post("/v1/proxy") { try await proxy($0, ctx, entry: nil) }
        r.post("/v1/attack") { try await attack($0, ctx) }
        // Open Inference Protocol v2
        OpenInference.register(&r, ctx)
        return r
    }

    static func readiness(_ ctx: ServiceContext) throws -> HTTPResponse {
        if ctx.isDraining { throw ServiceError.notReady("draining: the server is shutting down") }
        if let failure = ctx.registry.failure { throw ServiceError.notReady("model loading failed: \(failure)") }
        guard ctx.registry.isReady else { throw ServiceError.notReady("models are loading") }
        return try .json(["status": "ready"])
    }

    static func models(_ ctx: ServiceContext) throws -> HTTPResponse {
        let cfg = ctx.configuration
        // Models with an upstream are served through it (/v1/classify proxies them), so they
        // are listed apart, never as the local classifier they may also name.
        let proxied = cfg.models.entries.filter { $0.upstream != nil }
        let entries = ctx.registry.models.filter { m in !proxied.contains { $0.name == m.name } }.map { m in
            let entry = cfg.models.entries.first { $0.name == m.name }
            let settings = EffectiveModelSettings(m, configuration: cfg)
            return ModelListing.Entry(name: m.name, version: m.version, labels: m.labels, inputShape: m.inputShape, layout: "NHWC",
                                      purifiers: m.availablePurifiers.map(\.rawValue),
                                      defaultPurifier: settings.defaultPurifier.rawValue,
                                      threshold: m.threshold(for: settings.defaultPurifier),
                                      vae: entry?.vae, patchVae: entry?.patchVAE, robustness: m.robustness,
                                      certification: m.certification)
        }
        let upstreams = proxied.map { entry in
            let upstream = entry.upstream!
            let purifierModel = ctx.registry.models.first { $0.name == upstream.purifierModel }
            return ModelListing.UpstreamEntry(name: entry.name, purifierModel: upstream.purifierModel,
                                              purifiers: purifierModel?.availablePurifiers.map(\.rawValue) ?? [],
                                              defaultPurifier: upstream.purifier.rawValue,
                                              threshold: purifierModel?.threshold(for: upstream.purifier),
                                              contentType: upstream.contentType)
        }
        return try json(ModelListing(defaultModel: cfg.models.defaultModel, models: entries, upstreamModels: upstreams))
    }

    static func json<T: Encodable>(_ value: T, status: HTTPStatus = .ok) throws -> HTTPResponse {
        .json(encoded: Array(try JSONEncoder.api.encode(value)), status: status)
    }
}
