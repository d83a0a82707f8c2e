import HTTPServer

/// Which routes answer without an API key, decided from the route the router matched.
///
/// Deny by default: a request is public only when it matched a route listed here. Unmatched
/// requests (404/405) and every route not listed need a key, so a new route is protected until
/// someone lists it. The decision never looks at the raw path: the router drops empty segments
/// and percent-decodes each one, so `//v1/classify`, `/%76%31/classify` and
/// `http://x//v1/classify` all match `POST /v1/classify`, and any middleware that matched the
/// raw text itself would disagree with the router (issue #16). Middleware that classifies
/// requests (auth, load shedding, metrics labels) reads `request.route` instead.
enum RouteAccess {
    /// `METHOD pattern` of every public route: probes, metrics, the API document, the demo page.
    static let publicRoutes: Set<String> = [
        "GET /", "GET /demo/samples/:name",
        "GET /healthz", "GET /readyz", "GET /metrics", "GET /openapi.yaml",
        "GET /v2", "GET /v2/health/live", "GET /v2/health/ready",
    ]

    /// Whether `method` on the route `pattern` is public; `HEAD` follows its `GET` route, as
    /// the router does.
    static func isPublic(method: HTTPMethod, route pattern: String?) -> Bool {
        guard let pattern else { return false }
        let verb = method == .head ? HTTPMethod.get : method
        return publicRoutes.contains("\(verb.rawValue) \(pattern)")
    }

    static func isPublic(_ request: HTTPRequest) -> Bool { isPublic(method: request.method, route: request.route) }
}
