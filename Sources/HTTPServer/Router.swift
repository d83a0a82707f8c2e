// MARK: - Router

/// Maps method + path to a handler, with `:name` parameters and a trailing `*` wildcard.
///
/// Routes are matched per segment after percent-decoding each segment, so
/// `/v2/models/a%2Fb/infer` gives `name == "a/b"` rather than an extra segment.
/// When several patterns match, the most specific wins (literal beats `:param`,
/// which beats `*`), regardless of registration order, so adding a route can never
/// silently shadow a more specific one.
public struct Router: Sendable {

    struct Route: Sendable {
        let method: HTTPMethod
        let pattern: String
        let segments: [Segment]
        let handler: HTTPHandler
    }

    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
        case wildcard
    }

    /// The outcome of matching a request.
    public enum Resolution: Sendable {
        case matched(HTTPHandler, parameters: [String: String], pattern: String)
        /// Some route matches the path but not the method; `allowed` feeds the `Allow` header.
        case methodNotAllowed(allowed: [String])
        case notFound
    }

    private(set) var routes: [Route] = []

    public init() {}

    // MARK: - Registration

    /// Registers `handler` for `method` on `pattern` (e.g. `/v2/models/:name/infer`).
    public mutating func add(_ method: HTTPMethod, _ pattern: String, _ handler: @escaping HTTPHandler) {
        routes.append(Route(method: method, pattern: pattern, segments: Self.compile(pattern), handler: handler))
    }

    public mutating func get(_ pattern: String, _ handler: @escaping HTTPHandler) { add(.get, pattern, handler) }
    public mutating func head(_ pattern: String, _ handler: @escaping HTTPHandler) { add(.head, pattern, handler) }
    public mutating func post(_ pattern: String, _ handler: @escaping HTTPHandler) { add(.post, pattern, handler) }
    public mutating func put(_ pattern: String, _ handler: @escaping HTTPHandler) { add(.put, pattern, handler) }
    public mutating func patch(_ pattern: String, _ handler: @escaping HTTPHandler) { add(.patch, pattern, handler) }
    public mutating func delete(_ pattern: String, _ handler: @escaping HTTPHandler) { add(.delete, pattern, handler) }

    // MARK: - Resolution

    /// Finds the handler for `method` and `path` (percent-encoded, without query).
    /// `HEAD` falls back to the `GET` route; the server drops the body.
    public func resolve(method: HTTPMethod, path: String) -> Resolution {
        let segments = Self.split(path)
        var best: (route: Route, parameters: [String: String], rank: [Int])?
        var allowed = Set<String>()
        for route in routes {
            guard let (parameters, rank) = Self.match(route.segments, segments) else { continue }
            allowed.insert(route.method.rawValue)
            if route.method == .get { allowed.insert("HEAD") }
            let methodMatches = route.method == method || (method == .head && route.method == .get)
            guard methodMatches else { continue }
            // An explicit HEAD route beats the GET fallback for the same pattern.
            let better = best.map { rank.lexicographicallyPrecedes($0.rank)
                || (rank == $0.rank && route.method == method && $0.route.method != method) } ?? true
            if better { best = (route, parameters, rank) }
        }
        if let best {
            return .matched(best.route.handler, parameters: best.parameters, pattern: best.route.pattern)
        }
        return allowed.isEmpty ? .notFound : .methodNotAllowed(allowed: allowed.sorted())
    }

    /// Convenience that resolves and runs the handler, throwing the 404/405 `HTTPError`
    /// when nothing matches.
    public func respond(to request: HTTPRequest) async throws -> HTTPResponse {
        var request = request
        switch resolve(method: request.method, path: request.path) {
        case .matched(let handler, let parameters, let pattern):
            request.pathParameters = parameters
            request.route = pattern
            return try await handler(request)
        case .methodNotAllowed(let allowed):
            throw Self.methodNotAllowed(allowed)
        case .notFound:
            throw HTTPError(.notFound, "no route for \(request.method) \(request.path)")
        }
    }

    static func methodNotAllowed(_ allowed: [String]) -> HTTPError {
        HTTPError(.methodNotAllowed, "method not allowed; allowed: \(allowed.joined(separator: ", "))",
                  headers: ["Allow": allowed.joined(separator: ", ")])
    }

    // MARK: - Matching

    static func compile(_ pattern: String) -> [Segment] {
        split(pattern).map { segment in
            if segment == "*" { return .wildcard }
            if segment.hasPrefix(":") && segment.count > 1 { return .parameter(String(segment.dropFirst())) }
            return .literal(segment)
        }
    }

    /// Splits a path into percent-decoded segments; empty segments are ignored, so
    /// `/a//b/` matches `/a/b`.
    static func split(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map { PercentDecoding.decode($0) }
    }

    /// Returns the captured parameters and a specificity rank (lower is more specific)
    /// when `pattern` matches `path`.
    static func match(_ pattern: [Segment], _ path: [String]) -> ([String: String], [Int])? {
        var parameters: [String: String] = [:]
        var rank: [Int] = []
        rank.reserveCapacity(pattern.count)
        for (i, segment) in pattern.enumerated() {
            switch segment {
            case .wildcard:
                guard i == pattern.count - 1 else { return nil }
                parameters["*"] = path[min(i, path.count)...].joined(separator: "/")
                rank.append(2)
                return (parameters, rank)
            case .literal(let literal):
                guard i < path.count, path[i] == literal else { return nil }
                rank.append(0)
            case .parameter(let name):
                guard i < path.count else { return nil }
                parameters[name] = path[i]
                rank.append(1)
            }
        }
        return pattern.count == path.count ? (parameters, rank) : nil
    }
}
