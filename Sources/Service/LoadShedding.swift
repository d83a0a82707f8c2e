import HTTPServer

/// Refuses inference requests with 503 + `Retry-After` while the batching queue is full,
/// before their image is decoded: under overload the refusal then costs almost nothing,
/// and the CPU goes to the requests that were accepted. The queue's own bound still holds
/// for requests that race past this check.
struct LoadShedding: Middleware {
    let scheduler: BatchScheduler
    let metrics: ServiceMetrics

    func handle(_ request: HTTPRequest, next: HTTPHandler) async throws -> HTTPResponse {
        if Self.isInference(request), scheduler.isFull {
            metrics.rejected(reason: "queue_full")
            throw ServiceError.overloaded(retryAfter: 1)
        }
        return try await next(request)
    }

    /// A `POST` that matched a non-public route: every such route queues inference work.
    /// Decided from the matched route, never the raw path (see `RouteAccess`).
    static func isInference(_ request: HTTPRequest) -> Bool {
        request.method == .post && request.route != nil && !RouteAccess.isPublic(request)
    }
}
