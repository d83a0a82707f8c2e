import HTTPServer

/// Answers errors under `/v2` in the Open Inference Protocol's shape, `{"error": "<message>"}`,
/// with the same status and headers (`Retry-After`, `WWW-Authenticate`). Triton's and
/// KServe's clients read `error` as a string (tritonclient raised `TypeError` inside its
/// exception's `__str__` on the v1 object). The v1 routes keep `{"error": {"code", "message"}}`.
/// Sits outside authentication and routing, so their 401, 404 and 429 are covered too.
struct OpenInferenceErrors: Middleware {
    func handle(_ request: HTTPRequest, next: HTTPHandler) async throws -> HTTPResponse {
        guard Self.isOpenInference(request.path) else { return try await next(request) }
        do {
            return try await next(request)
        } catch let error as any HTTPErrorConvertible {
            return Self.response(error.httpError)
        } catch {
            return Self.response(HTTPError(.internalServerError, "internal server error"))
        }
    }

    static func isOpenInference(_ path: String) -> Bool { path == "/v2" || path.hasPrefix("/v2/") }

    /// Whether a raw request-target (origin or absolute form, with its query) is under `/v2`:
    /// for the errors the server answers before routing (a body over the limit, a bad header).
    static func isOpenInference(target: String?) -> Bool {
        guard var path = target?.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)
        else { return false }
        if let scheme = path.range(of: "://") {
            path = path[scheme.upperBound...].firstIndex(of: "/").map { String(path[$0...]) } ?? "/"
        }
        while path.hasPrefix("//") { path.removeFirst() }
        return isOpenInference(path)
    }

    static func response(_ error: HTTPError) -> HTTPResponse {
        var headers = error.headers
        headers["Content-Type"] = "application/json"
        return HTTPResponse(status: error.status, headers: headers, body: body(error.message))
    }

    /// `{"error":"<message>"}`.
    static func body(_ message: String) -> [UInt8] {
        Array("{\"error\":".utf8) + HTTPError.jsonString(message) + Array("}".utf8)
    }
}
