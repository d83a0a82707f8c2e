import HTTPServer

/// Refuses inference requests with 503 + `Retry-After` while the batching queue is full,
/// before their image is decoded: under overload the refusal then costs almost nothing,
/// and the CPU goes to the requests that were accepted. The queue's own bound still holds
/// for requests that race past this check.
struct LoadShedding: Middleware {
    let scheduler: BatchScheduler
    let metrics: ServiceMetrics

    func handle(_ request: HTTPRequest, next: HTTPHandler) async throws -> HTTPResponse {
        if request.method == .post, Self.isInference(request.path), scheduler.isFull {
            metrics.rejected(reason: "queue_full")
            throw ServiceError.overloaded(retryAfter: 1)
        }
        return try await next(request)
    }

    static func isInference(_ path: String) -> Bool {
        path.hasPrefix("/v1/") || (path.hasPrefix("/v2/models/") && path.hasSuffix("/infer"))
    }
}
