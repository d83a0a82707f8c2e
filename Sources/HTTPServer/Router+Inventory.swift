// MARK: - Router inventory

extension Router {
    /// Every registered route, in registration order: the method and the pattern exactly as
    /// given to `add` (e.g. `POST /v2/models/:name/infer`).
    ///
    /// Read-only; for route listings and for checks that documentation (docs/openapi.yaml)
    /// matches what is served. The implicit `HEAD` fallback of `GET` routes is not listed.
    /// (Named `registeredRoutes` because `routes` is the stored table itself.)
    public var registeredRoutes: [(method: HTTPMethod, pattern: String)] {
        routes.map { (method: $0.method, pattern: $0.pattern) }
    }
}
