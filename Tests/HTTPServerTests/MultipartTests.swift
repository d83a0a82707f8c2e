import Foundation
import Testing
@testable import HTTPServer

@Suite("multipart/form-data")
struct MultipartTests {
    static let body = "preamble\r\n"
        + "--XyZ\r\n"
        + "Content-Disposition: form-data; name=\"model\"\r\n\r\n"
        + "mnist\r\n"
        + "--XyZ\r\n"
        + "Content-Disposition: form-data; name=\"image\"; filename=\"digit \\\"7\\\".png\"\r\n"
        + "Content-Type: image/png\r\n\r\n"
        + "\u{89}PNG\r\n--not-the-boundary\r\n"
        + "--XyZ--\r\nepilogue"

    @Test func parts_areParsed() throws {
        let parts = try MultipartFormData.parse(Array(Self.body.utf8), boundary: "XyZ")
        #expect(parts.count == 2)
        #expect(parts[0].name == "model")
        #expect(parts[0].filename == nil)
        #expect(parts[0].body == Array("mnist".utf8))
        #expect(parts[1].name == "image")
        #expect(parts[1].filename == "digit \"7\".png")
        #expect(parts[1].contentType == "image/png")
        #expect(parts[1].body == Array("\u{89}PNG\r\n--not-the-boundary".utf8))
    }

    @Test func request_withQuotedBoundary_isParsed() throws {
        let request = HTTPRequest(method: .post, target: "/u",
                                  headers: ["Content-Type": "multipart/form-data; charset=utf-8; boundary=\"XyZ\""],
                                  body: Array(Self.body.utf8))
        #expect(try MultipartFormData.parse(request).count == 2)
    }

    @Test func extendedFilename_isDecoded() throws {
        let body = "--b\r\nContent-Disposition: form-data; name=f; filename=\"x\"; filename*=UTF-8''%E2%9C%93.txt\r\n\r\nz\r\n--b--"
        let parts = try MultipartFormData.parse(Array(body.utf8), boundary: "b")
        #expect(parts.first?.filename == "✓.txt")
    }

    @Test func missingClosingBoundary_isRejected() {
        let body = "--b\r\nContent-Disposition: form-data; name=a\r\n\r\nvalue"
        #expect(throws: MultipartError.malformed("missing closing boundary")) {
            try MultipartFormData.parse(Array(body.utf8), boundary: "b")
        }
    }

    @Test func tooManyParts_areRejected() {
        let part = "--b\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n"
        let body = String(repeating: part, count: 5) + "--b--"
        #expect(throws: MultipartError.tooManyParts(limit: 3)) {
            try MultipartFormData.parse(Array(body.utf8), boundary: "b", limits: .init(maxParts: 3))
        }
    }

    @Test func oversizedPartHeaders_areRejected() {
        let body = "--b\r\nX-Big: \(String(repeating: "h", count: 200))\r\n\r\nv\r\n--b--"
        #expect(throws: MultipartError.partHeadersTooLarge(limit: 64)) {
            try MultipartFormData.parse(Array(body.utf8), boundary: "b", limits: .init(maxPartHeaderBytes: 64))
        }
    }

    @Test func nonMultipartRequest_is415() {
        let request = HTTPRequest(method: .post, target: "/u", headers: ["Content-Type": "application/json"])
        do {
            _ = try MultipartFormData.parse(request)
            Issue.record("expected error")
        } catch {
            #expect(error == .notMultipart)
            #expect(error.httpError.status.code == 415)
        }
    }

    @Test func missingBoundary_isRejected() {
        let request = HTTPRequest(method: .post, target: "/u", headers: ["Content-Type": "multipart/form-data"])
        #expect(throws: MultipartError.missingBoundary) { try MultipartFormData.parse(request) }
    }

    @Test func curlUpload_overLoopback_isParsed() async throws {
        var router = Router()
        router.post("/upload") { request in
            let parts = try MultipartFormData.parse(request)
            let summary = parts.map { "\($0.name ?? "-"):\($0.filename ?? "-"):\($0.contentType ?? "-"):\($0.body.count)" }
            return .text(summary.joined(separator: ","))
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("digit.bin")
        try Data((0..<3000).map { UInt8($0 % 256) }).write(to: file)
        try await withServer(router: router) { server in
            let result = try await curl(["-F", "model=mnist", "-F", "image=@\(file.path);type=application/octet-stream",
                                         "http://127.0.0.1:\(server.port)/upload"])
            #expect(result.exitCode == 0)
            #expect(result.stdout == "model:-:-:5,image:digit.bin:application/octet-stream:3000")
        }
    }
}
