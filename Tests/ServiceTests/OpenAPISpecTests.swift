import Testing
import Foundation
@testable import Service
import HTTPServer

/// Keeps docs/openapi.yaml in step with the routes `Routes.router(_:)` registers: every
/// registered method + path is documented, and every documented operation is registered.
@Suite("docs/openapi.yaml matches the registered routes")
struct OpenAPISpecTests {
    /// Routes documented ahead of their implementation ("GET /path"), exempt from the
    /// "documented but not registered" check until they land. Empty: `GET /`,
    /// `GET /demo/samples/{name}` and `POST /v1/attack` are registered now.
    static let documentedAheadOfCode: Set<String> = []

    static var specURL: URL {
        URL(fileURLWithPath: #filePath)               // Tests/ServiceTests/OpenAPISpecTests.swift
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/openapi.yaml")
    }

    /// `GET /v2/models/:name` → `GET /v2/models/{name}`.
    static func openAPIPath(_ pattern: String) -> String {
        let segments = pattern.split(separator: "/", omittingEmptySubsequences: true).map { segment in
            segment.hasPrefix(":") && segment.count > 1 ? "{\(segment.dropFirst())}" : String(segment)
        }
        return "/" + segments.joined(separator: "/")
    }

    @Test func spec_isOpenAPI303() throws {
        let text = try String(contentsOf: Self.specURL, encoding: .utf8)
        #expect(text.split(separator: "\n").contains { $0.trimmingCharacters(in: .whitespaces) == "openapi: 3.0.3" })
    }

    @Test func reader_understandsThePathsSection() throws {
        let yaml = """
        openapi: 3.0.3
        # comment
        paths:
          /a:
            get:
              summary: x
            post: {summary: y}
          "/b/{id}":
            # a comment inside
            delete:
              responses: {}
          /c: {}
        components:
          schemas:
            /not-a-path:
              get: {}
        """
        let ops = OpenAPIPaths.operations(in: yaml)
        #expect(ops == ["GET /a", "POST /a", "DELETE /b/{id}"])
        #expect(OpenAPIPaths.paths(in: yaml) == ["/a", "/b/{id}", "/c"])
        #expect(Self.openAPIPath("/v2/models/:name/infer") == "/v2/models/{name}/infer")
        #expect(Self.openAPIPath("/") == "/")
    }

    @Test func everyRegisteredRouteIsDocumented_andEveryDocumentedRouteIsRegistered() throws {
        let text = try String(contentsOf: Self.specURL, encoding: .utf8)
        let documented = Set(OpenAPIPaths.operations(in: text))
        #expect(documented.count >= 13, "the reader found only \(documented.sorted()) in \(Self.specURL.path)")

        let inventory = Routes.inventory()
        #expect(!inventory.isEmpty)
        let registered = Set(inventory.map { "\($0.method) \(Self.openAPIPath($0.path))" })
        #expect(registered.count == inventory.count, "a route is registered twice: \(inventory)")

        for route in registered.subtracting(documented).sorted() {
            Issue.record("\(route) is registered by Routes.router but missing from docs/openapi.yaml")
        }
        for route in documented.subtracting(registered).subtracting(Self.documentedAheadOfCode).sorted() {
            Issue.record("\(route) is in docs/openapi.yaml but Routes.router does not register it")
        }
    }

    @Test func protectedRoutesDeclareA401_openOnesDoNot() throws {
        // The operation blocks' own text: a route that needs a key documents 401 and no
        // `security: []`; an open one says `security: []`.
        let text = try String(contentsOf: Self.specURL, encoding: .utf8)
        for (operation, block) in OpenAPIPaths.operationBlocks(in: text) {
            let path = String(operation.split(separator: " ", maxSplits: 1)[1])
            let open = block.contains { $0.trimmingCharacters(in: .whitespaces) == "security: []" }
            let has401 = block.contains { $0.trimmingCharacters(in: .whitespaces).hasPrefix("\"401\":") }
            let parts = operation.split(separator: " ", maxSplits: 1)
            let pattern = path.replacingOccurrences(of: "{", with: ":").replacingOccurrences(of: "}", with: "")
            if !RouteAccess.isPublic(method: HTTPMethod(String(parts[0]).uppercased()), route: pattern) {
                #expect(!open && has401, "\(operation) needs a key: document 401 and no `security: []`")
            } else {
                #expect(open && !has401, "\(operation) is open: document `security: []` and no 401")
            }
        }
    }
}

/// A line-based reader of the `paths:` section of an OpenAPI YAML document, enough for the
/// layout docs/openapi.yaml uses: paths as keys indented by two spaces under a top-level
/// `paths:`, HTTP methods as keys indented by four. No YAML dependency.
enum OpenAPIPaths {
    static let methods: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]

    /// The `paths:` section's lines (without the `paths:` line itself).
    static func section(_ text: String) -> [Substring] {
        var lines: [Substring] = []
        var inside = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { if inside { lines.append(line) }; continue }
            let topLevel = !line.hasPrefix(" ")
            if topLevel {
                inside = line.hasPrefix("paths:")
                continue
            }
            if inside { lines.append(line) }
        }
        return lines
    }

    static func indentation(_ line: Substring) -> Int { line.prefix { $0 == " " }.count }

    /// The key of a `key:` or `key: value` line, unquoted.
    static func key(_ line: Substring) -> String? {
        let body = line.drop { $0 == " " }
        guard !body.hasPrefix("#"), let colon = body.firstIndex(of: ":") else { return nil }
        var key = body[..<colon].trimmingCharacters(in: .whitespaces)
        if key.count >= 2, let first = key.first, first == "\"" || first == "'", key.last == first {
            key = String(key.dropFirst().dropLast())
        }
        return key
    }

    /// Documented paths, in order.
    static func paths(in text: String) -> [String] {
        section(text).filter { indentation($0) == 2 }.compactMap(key).filter { $0.hasPrefix("/") }
    }

    /// `"METHOD /path"` for every operation, in order.
    static func operations(in text: String) -> [String] { operationBlocks(in: text).map(\.operation) }

    /// Each operation with the lines of its block.
    static func operationBlocks(in text: String) -> [(operation: String, lines: [Substring])] {
        var result: [(operation: String, lines: [Substring])] = []
        var path: String?
        var inOperation = false
        for line in section(text) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            switch indentation(line) {
            case ...2:
                path = key(line).flatMap { $0.hasPrefix("/") ? $0 : nil }
                inOperation = false
            case 3...4:
                // A method opens an operation; a path-level key such as `parameters:` ends it.
                inOperation = false
                if let path, let k = key(line), methods.contains(k) {
                    result.append((operation: "\(k.uppercased()) \(path)", lines: [line]))
                    inOperation = true
                }
            default:
                if inOperation { result[result.count - 1].lines.append(line) }
            }
        }
        return result
    }
}

@Suite("Served OpenAPI document")
struct ServedOpenAPIDocumentTests {
    @Test func embeddedSpec_isTheCommittedFile_andIsServed() async throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/openapi.yaml")
        let committed = try String(contentsOf: file, encoding: .utf8)
        #expect(OpenAPIDocument.yaml + (OpenAPIDocument.yaml.hasSuffix("\n") ? "" : "\n") == committed,
                "run scripts/embed-openapi.py after editing docs/openapi.yaml")
        try await TestService.with { s in
            let r = try await s.request("GET", "/openapi.yaml")
            #expect(r.status == 200)
            #expect(r.header("Content-Type")?.hasPrefix("application/yaml") == true)
            #expect(String(decoding: r.body, as: UTF8.self).hasPrefix(String(committed.prefix(100))))
        }
    }
}
