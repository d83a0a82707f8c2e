// MARK: - Handlers and middleware

/// A request handler. Handlers run on Swift's cooperative pool, never on the I/O
/// queues, so a slow (CPU-heavy) handler delays only its own connection.
public typealias HTTPHandler = @Sendable (HTTPRequest) async throws -> HTTPResponse

/// Code that runs around every handler: authentication, request ids, metrics, CORS.
///
/// A middleware may answer by itself (return without calling `next`), transform the
/// request before or the response after `next`, or catch errors thrown below it.
/// Routing happens *before* middleware, so `request.route` and `request.pathParameters`
/// are already set (useful for per-route metrics); an unmatched request still passes
/// through middleware and `next` then throws the 404/405 `HTTPError`. A middleware that
/// decides by route (auth, load shedding, metrics) must read `request.route`, never match
/// `request.path`: the router drops empty segments and percent-decodes, so many raw paths
/// (`//v1/x`, `/%76%31/x`) reach one route.
public protocol Middleware: Sendable {
    func handle(_ request: HTTPRequest, next: HTTPHandler) async throws -> HTTPResponse
}

/// A middleware made from a closure, for the one-off cases.
public struct ClosureMiddleware: Middleware {
    private let body: @Sendable (HTTPRequest, HTTPHandler) async throws -> HTTPResponse

    public init(_ body: @escaping @Sendable (HTTPRequest, HTTPHandler) async throws -> HTTPResponse) {
        self.body = body
    }

    public func handle(_ request: HTTPRequest, next: HTTPHandler) async throws -> HTTPResponse {
        try await body(request, next)
    }
}

// MARK: - Chain

/// Runs middlewares in order (the first is outermost) and then `endpoint`.
struct MiddlewareChain: Sendable {
    let middlewares: [any Middleware]

    func run(_ request: HTTPRequest, endpoint: @escaping HTTPHandler) async throws -> HTTPResponse {
        try await run(request, at: 0, endpoint: endpoint)
    }

    private func run(_ request: HTTPRequest, at index: Int, endpoint: @escaping HTTPHandler) async throws -> HTTPResponse {
        guard index < middlewares.count else { return try await endpoint(request) }
        return try await middlewares[index].handle(request) { next in
            try await self.run(next, at: index + 1, endpoint: endpoint)
        }
    }
}
