import HTTPServer

/// Counts every request by route, method and status, and times it.
struct MetricsMiddleware: Middleware {
    let metrics: ServiceMetrics

    func handle(_ request: HTTPRequest, next: HTTPHandler) async throws -> HTTPResponse {
        let clock = ContinuousClock()
        let start = clock.now
        let route = Self.routeLabel(request.path)
        do {
            let response = try await next(request)
            metrics.request(route: route, method: request.method.rawValue, status: response.status.code, duration: clock.now - start)
            return response
        } catch {
            let status = (error as? any HTTPErrorConvertible)?.httpError.status.code ?? 500
            metrics.request(route: route, method: request.method.rawValue, status: status, duration: clock.now - start)
            throw error
        }
    }

    /// Route patterns as metric labels: bounded cardinality whatever paths clients send.
    static func routeLabel(_ path: String) -> String {
        let fixed: Set<String> = ["/", "/healthz", "/readyz", "/metrics", "/openapi.yaml", "/v1/classify", "/v1/purify",
                                  "/v1/attack", "/v1/models", "/v1/proxy", "/v2", "/v2/health/live", "/v2/health/ready"]
        if fixed.contains(path) { return path }
        let parts = path.split(separator: "/")
        if parts.count >= 3, parts[0] == "v2", parts[1] == "models" {
            switch parts.count {
            case 3: return "/v2/models/:name"
            case 4 where parts[3] == "ready" || parts[3] == "infer": return "/v2/models/:name/\(parts[3])"
            case 5 where parts[3] == "versions": return "/v2/models/:name/versions/:version"
            case 6 where parts[3] == "versions" && (parts[5] == "ready" || parts[5] == "infer"):
                return "/v2/models/:name/versions/:version/\(parts[5])"
            default: break
            }
        }
        if path.hasPrefix("/demo/") { return "/demo/*" }
        return "other"
    }
}
