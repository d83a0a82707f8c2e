import HTTPServer

/// Counts every request by route, method and status, and times it.
struct MetricsMiddleware: Middleware {
    let metrics: ServiceMetrics

    func handle(_ request: HTTPRequest, next: HTTPHandler) async throws -> HTTPResponse {
        let clock = ContinuousClock()
        let start = clock.now
        let route = Self.routeLabel(request)
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

    /// The matched route's pattern as the metric label (bounded cardinality whatever paths
    /// clients send, and the same route whatever spelling of the path reached it); "other"
    /// for requests no route matched.
    static func routeLabel(_ request: HTTPRequest) -> String { request.route ?? "other" }
}
