import Foundation
import Synchronization
import COpenSSL
import HTTPServer

/// API-key authentication and per-key rate limiting for the inference routes.
///
/// Keys come in `Authorization: Bearer <key>` or `X-API-Key: <key>` and are compared with
/// OpenSSL's `CRYPTO_memcmp` against every configured key (constant time per comparison, and
/// no early exit across keys). Which requests need a key is `RouteAccess`'s decision, made from
/// the matched route (deny by default); liveness, readiness, metrics, the demo page and the API
/// document are the public routes. Keys are never logged.
struct APIKeyAuth: Middleware {
    let keys: [[UInt8]]
    let limiter: RateLimiter?
    let metrics: ServiceMetrics

    init(keys: [String], ratePerSecond: Double, burst: Int, metrics: ServiceMetrics) {
        // `ServiceConfiguration.validate` refuses empty keys. One that gets here anyway still
        // turns authentication on and never matches (see `constantTimeEqual`).
        self.keys = keys.map { Array($0.utf8) }
        self.limiter = ratePerSecond > 0 ? RateLimiter(ratePerSecond: ratePerSecond, burst: max(1, burst)) : nil
        self.metrics = metrics
    }

    func handle(_ request: HTTPRequest, next: HTTPHandler) async throws -> HTTPResponse {
        guard !keys.isEmpty, !RouteAccess.isPublic(request) else { return try await next(request) }
        guard let presented = Self.presentedKey(request), !presented.isEmpty else {
            metrics.rejected(reason: "unauthorized")
            throw ServiceError.unauthorized("missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
        }
        var index: Int?
        for (i, key) in keys.enumerated() where Self.constantTimeEqual(key, presented) { index = i }
        guard let index else {
            metrics.rejected(reason: "unauthorized")
            throw ServiceError.unauthorized("invalid API key")
        }
        if let limiter, let wait = limiter.take(key: index) {
            metrics.rejected(reason: "rate_limited")
            throw ServiceError.rateLimited(retryAfter: max(1, Int(wait.rounded(.up))))
        }
        return try await next(request)
    }

    /// OpenSSL's `CRYPTO_memcmp`: time independent of where the bytes differ. (The length is
    /// not secret-dependent in a way that helps: keys are compared against every configured key.)
    /// An empty key never matches, not even another empty one.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count, !a.isEmpty else { return false }
        return CRYPTO_memcmp(a, b, a.count) == 0
    }

    static func presentedKey(_ request: HTTPRequest) -> [UInt8]? {
        if let auth = request.headers["Authorization"] {
            let parts = auth.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { return Array(parts[1].trimmingCharacters(in: .whitespaces).utf8) }
        }
        return request.headers["X-API-Key"].map { Array($0.utf8) }
    }
}

/// Token bucket per key: `ratePerSecond` sustained, `burst` at once.
final class RateLimiter: Sendable {
    private let buckets = Mutex<[Int: (tokens: Double, updated: Date)]>([:])
    let ratePerSecond: Double
    let burst: Int

    init(ratePerSecond: Double, burst: Int) {
        self.ratePerSecond = ratePerSecond
        self.burst = burst
    }

    /// Takes a token; returns nil when allowed, else seconds until one is available.
    func take(key: Int, now: Date = Date()) -> Double? {
        buckets.withLock { buckets in
            var b = buckets[key] ?? (Double(burst), now)
            b.tokens = min(Double(burst), b.tokens + now.timeIntervalSince(b.updated) * ratePerSecond)
            b.updated = now
            defer { buckets[key] = b }
            if b.tokens >= 1 {
                b.tokens -= 1
                return nil
            }
            return (1 - b.tokens) / ratePerSecond
        }
    }
}
