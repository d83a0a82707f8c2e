import Foundation
import Testing
import TestSupport
@testable import HTTPServer
@testable import Service

/// Issue #16, defect 1: with API keys configured, every registered route that is not declared
/// public answers 401 without a key under every spelling of its path the router accepts, and
/// every middleware that classifies requests (auth, load shedding, metrics labels) sees the
/// route the router matched, not the raw path.
@Suite("Route access")
struct RouteAccessTests {
    static let key = "route-access-key-0123456789"

    /// The service's real router (what `InferenceService` installs) and a service with keys
    /// whose server answers in-process; the scheduler's threads stop at the end.
    static func withKeyedService(_ body: (InferenceService, Router) async throws -> Void) async throws {
        var cfg = TestService.configuration()
        cfg.auth.apiKeys = [key]
        let registry = ModelRegistry(configuration: cfg)
        registry.install(try TestService.models())
        let service = try InferenceService(configuration: cfg, registry: registry)
        defer { service.scheduler.stop() }
        try await body(service, Routes.router(service.context))
    }

    /// A concrete path for a pattern: parameters become a served model name.
    static func concrete(_ pattern: String) -> String {
        "/" + pattern.split(separator: "/").map { $0.hasPrefix(":") ? "toy" : String($0) }.joined(separator: "/")
    }

    /// Every spelling of `path` that the router resolves to the same route: doubled and leading
    /// slashes, percent-encoded segments (upper and lower case hex), a trailing slash, the
    /// absolute form, and combinations.
    static func variants(_ path: String) -> [String] {
        let segments = path.split(separator: "/").map(String.init)
        func encodeAll(_ s: String, lower: Bool = false) -> String {
            s.utf8.map { String(format: lower ? "%%%02x" : "%%%02X", $0) }.joined()
        }
        let encoded = "/" + segments.map { encodeAll($0) }.joined(separator: "/")
        let firstEncoded = "/" + segments.enumerated().map { $0.offset == 0 ? encodeAll($0.element, lower: true) : $0.element }
            .joined(separator: "/")
        let doubled = "//" + segments.joined(separator: "//")
        var out = [path, "/" + path, doubled, encoded, firstEncoded, path + "/", path + "//", path + "?model=toy",
                   "http://x" + path, "http://x/" + path, "http://x" + doubled + "/?model=toy", "HTTP://x:1" + encoded,
                   "//" + encoded.dropFirst() + "/"]
        if segments.count > 1 {
            // `/v2//models/toy/infer`: an empty segment in the middle only.
            out.append("/" + segments[0] + "//" + segments.dropFirst().joined(separator: "/"))
        }
        return out
    }

    @Test func everyRoute_underEveryPathVariant_needsAKey_unlessDeclaredPublic() async throws {
        try await Self.withKeyedService { service, router in
            let routes = router.registeredRoutes
            #expect(routes.count >= 16, "the inventory looks incomplete: \(routes)")
            var protectedChecked = 0
            // `HEAD` reaches every `GET` route through the router's fallback.
            let withHead = routes + routes.filter { $0.method == .get }.map { (method: HTTPMethod.head, pattern: $0.pattern) }
            for (method, pattern) in withHead {
                let isPublic = RouteAccess.isPublic(method: method, route: pattern)
                for target in Self.variants(Self.concrete(pattern)) {
                    // The variant must reach the route itself, or the check below proves nothing.
                    let request = HTTPRequest(method: method, target: target)
                    guard case .matched(_, _, let matched) = router.resolve(method: method, path: request.path),
                          matched == pattern else {
                        Issue.record("\(method) \(target) does not resolve to \(pattern)")
                        continue
                    }
                    let reply = await service.server.respond(to: request)
                    if isPublic {
                        #expect(reply.status.code != 401, "\(method) \(target) is public but answered 401")
                    } else {
                        #expect(reply.status.code == 401, "\(method) \(target) answered \(reply.status.code) without a key")
                        protectedChecked += 1
                    }
                    // An empty key is no key.
                    var empty = request
                    empty.headers["X-API-Key"] = ""
                    if !isPublic { #expect(await service.server.respond(to: empty).status.code == 401, "\(target), empty key") }
                }
            }
            #expect(protectedChecked >= (8 + 3) * 13, "only \(protectedChecked) protected route variants were checked")
        }
    }

    @Test func unmatchedRequests_needAKey_denyByDefault() async throws {
        try await Self.withKeyedService { service, _ in
            for (method, target) in [("GET", "/nope"), ("GET", "//v1//nope"), ("POST", "/v3/models/toy/infer"),
                                     ("DELETE", "/v1/classify"), ("GET", "/v1/classify")] {
                let reply = await service.server.respond(to: HTTPRequest(method: HTTPMethod(method), target: target))
                #expect(reply.status.code == 401, "\(method) \(target) answered \(reply.status.code)")
            }
            var keyed = HTTPRequest(method: .get, target: "/nope")
            keyed.headers["X-API-Key"] = Self.key
            #expect(await service.server.respond(to: keyed).status.code == 404)
        }
    }

    @Test func loadSheddingAndMetricsLabels_useTheMatchedRoute() async throws {
        try await Self.withKeyedService { _, router in
            for (method, pattern) in router.registeredRoutes {
                for target in Self.variants(Self.concrete(pattern)) {
                    var request = HTTPRequest(method: method, target: target)
                    guard case .matched(_, _, let matched) = router.resolve(method: method, path: request.path) else { continue }
                    request.route = matched
                    let inference = method == .post && !RouteAccess.isPublic(method: method, route: pattern)
                    #expect(LoadShedding.isInference(request) == inference, "\(method) \(target)")
                    #expect(MetricsMiddleware.routeLabel(request) == pattern, "\(method) \(target)")
                }
            }
            #expect(!LoadShedding.isInference(HTTPRequest(method: .post, target: "/v1/nope")), "unmatched: 404, not shed")
            #expect(MetricsMiddleware.routeLabel(HTTPRequest(method: .get, target: "/a/b/c")) == "other")
        }
    }

    @Test func publicRoutes_areExactlyTheOperationalOnes() {
        #expect(RouteAccess.isPublic(method: .get, route: "/healthz"))
        #expect(RouteAccess.isPublic(method: .head, route: "/readyz"))
        #expect(!RouteAccess.isPublic(method: .post, route: "/healthz"))
        #expect(!RouteAccess.isPublic(method: .get, route: "/v1/models"))
        #expect(!RouteAccess.isPublic(method: .get, route: nil))
        let inventory = Set(Routes.inventory().map { "\($0.method) \($0.path)" })
        for route in RouteAccess.publicRoutes { #expect(inventory.contains(route), "\(route) is listed public but not registered") }
    }

    /// The issue's curl reproduction over a real socket: `//v1/classify` and the absolute form
    /// without a key get 401; with the key the same request is served.
    @Test func doubleSlashAndAbsoluteForm_overASocket_get401WithoutKey() async throws {
        var cfg = TestService.configuration()
        cfg.auth.apiKeys = [Self.key]
        try await TestService.with(cfg, sockets: true) { s in
            let png = [UInt8](try TestService.png())
            func post(_ target: String, key: String? = nil) async throws -> RawResponse {
                let client = try RawClient(port: s.service.port)
                let auth = key.map { "X-API-Key: \($0)\r\n" } ?? ""
                try client.send(Array("POST \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n\(auth)Content-Length: \(png.count)\r\nConnection: close\r\n\r\n".utf8) + png)
                return try await client.readResponse()
            }
            for target in ["//v1/classify?model=toy", "/%76%31/classify?model=toy", "http://x//v1/classify?model=toy",
                           "/v1//classify?model=toy", "/v2//models/toy/infer", "//v2/models/toy/infer"] {
                let reply = try await post(target)
                #expect(reply.status == 401, "\(target) answered \(reply.status): \(reply.bodyString)")
            }
            #expect(try await post("//v1/classify?model=toy", key: Self.key).status == 200)
        }
    }
}
