import Testing
@testable import HTTPServer

@Suite("Router")
struct RouterTests {
    private func router() -> Router {
        var router = Router()
        router.post("/v2/models/:name/infer") { _ in .text("infer") }
        router.get("/v2/models/:name") { _ in .text("model") }
        router.get("/v2/models/ready") { _ in .text("ready") }
        router.delete("/v2/models/:name") { _ in .text("deleted") }
        router.get("/static/*") { _ in .text("static") }
        return router
    }

    private func pattern(_ method: HTTPMethod, _ path: String) -> String? {
        if case .matched(_, _, let pattern) = router().resolve(method: method, path: path) { return pattern }
        return nil
    }

    @Test func pathParameters_areExtracted() {
        guard case .matched(_, let parameters, let pattern) = router().resolve(method: .post, path: "/v2/models/mnist-vae/infer")
        else { Issue.record("no match"); return }
        #expect(parameters == ["name": "mnist-vae"])
        #expect(pattern == "/v2/models/:name/infer")
    }

    @Test func pathParameters_arePercentDecodedPerSegment() {
        guard case .matched(_, let parameters, _) = router().resolve(method: .post, path: "/v2/models/a%2Fb%20c/infer")
        else { Issue.record("no match"); return }
        #expect(parameters["name"] == "a/b c")
    }

    @Test func literalSegment_beatsParameter_regardlessOfOrder() {
        #expect(pattern(.get, "/v2/models/ready") == "/v2/models/ready")
        #expect(pattern(.get, "/v2/models/other") == "/v2/models/:name")
    }

    @Test func unknownPath_isNotFound() {
        guard case .notFound = router().resolve(method: .get, path: "/v3/nothing") else {
            Issue.record("expected notFound"); return
        }
    }

    @Test func wrongMethod_isMethodNotAllowedWithAllow() {
        guard case .methodNotAllowed(let allowed) = router().resolve(method: .put, path: "/v2/models/x") else {
            Issue.record("expected 405"); return
        }
        #expect(allowed == ["DELETE", "GET", "HEAD"])
    }

    @Test func head_fallsBackToGet() {
        #expect(pattern(.head, "/v2/models/x") == "/v2/models/:name")
    }

    @Test func wildcard_capturesTheRest() {
        guard case .matched(_, let parameters, _) = router().resolve(method: .get, path: "/static/css/site.css")
        else { Issue.record("no match"); return }
        #expect(parameters["*"] == "css/site.css")
    }

    @Test func emptySegmentsAndTrailingSlash_areIgnored() {
        #expect(pattern(.get, "//v2//models/x/") == "/v2/models/:name")
    }

    @Test func respond_throwsJSONReadyErrors() async throws {
        let request = HTTPRequest(method: .put, target: "/v2/models/x")
        do {
            _ = try await router().respond(to: request)
            Issue.record("expected error")
        } catch let error as HTTPError {
            #expect(error.status == .methodNotAllowed)
            #expect(error.headers["Allow"] == "DELETE, GET, HEAD")
        }
    }
}

@Suite("Headers, query and errors")
struct HeadersAndQueryTests {
    @Test func headers_lookupIsCaseInsensitive() {
        var headers: HTTPHeaders = ["Content-Type": "text/plain", "X-Multi": "a"]
        headers.add(name: "x-multi", value: "b")
        #expect(headers["content-type"] == "text/plain")
        #expect(headers["CONTENT-TYPE"] == "text/plain")
        #expect(headers.values(for: "X-MULTI") == ["a", "b"])
        headers["X-Multi"] = "c"
        #expect(headers.values(for: "x-multi") == ["c"])
        headers["x-multi"] = nil
        #expect(!headers.contains("X-Multi"))
        #expect(headers["Content-Typf"] == nil)
    }

    @Test func query_isPercentDecoded() {
        let request = HTTPRequest(method: .get, target: "/p?a=1&b=hello%20world&c=x+y&d&e=%zz&f=%E2%9C%93&a=2")
        #expect(request.path == "/p")
        #expect(request.query["a"] == "1")
        #expect(request.query.values(for: "a") == ["1", "2"])
        #expect(request.query["b"] == "hello world")
        #expect(request.query["c"] == "x y")
        #expect(request.query["d"] == "")
        #expect(request.query["e"] == "%zz")
        #expect(request.query["f"] == "✓")
        #expect(request.query["missing"] == nil)
    }

    @Test func absoluteFormTarget_isReducedToPath() {
        let request = HTTPRequest(method: .get, target: "http://example.com:8080/a/b?x=1")
        #expect(request.path == "/a/b")
        #expect(request.query["x"] == "1")
    }

    @Test func errorJSON_isEscaped() throws {
        let body = HTTPError.jsonBody(code: 400, message: "bad \"quote\" \\ and\nnewline \u{01}")
        let text = String(decoding: body, as: UTF8.self)
        #expect(text == #"{"error":{"code":400,"message":"bad \"quote\" \\ and\nnewline \u0001"}}"#)
    }

    @Test func requestID_validation() {
        #expect(RequestID.isAcceptable("abc-123_x.y:z"))
        #expect(!RequestID.isAcceptable(""))
        #expect(!RequestID.isAcceptable("has space"))
        #expect(!RequestID.isAcceptable(String(repeating: "a", count: 129)))
        #expect(RequestID.generate() != RequestID.generate())
    }

    @Test func httpDate_isIMFFixdate() {
        #expect(HTTPDate.format(784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
    }
}
