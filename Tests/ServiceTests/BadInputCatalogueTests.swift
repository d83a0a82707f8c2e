import Foundation
import Testing
import TestSupport
@testable import Service

/// The bad-input catalogue of docs/RELIABILITY.md, run end to end: each entry is sent as raw
/// bytes over a fresh socket to a running service, must get its documented status (a JSON
/// error for every 4xx/5xx), and `/healthz` must still answer 200 afterwards.
/// `catalogue_matchesReliabilityDoc` keeps the document's table and this list identical.
@Suite("Bad-input catalogue", .serialized)
struct BadInputCatalogueTests {
    struct Entry: Sendable, CustomStringConvertible {
        var group: String
        var name: String
        var status: Int
        var request: @Sendable () throws -> [UInt8]
        var description: String { name }
    }

    // MARK: Request builders

    static func post(_ path: String, body: [UInt8], contentType: String? = "application/octet-stream",
                     headers: [String] = []) -> [UInt8] {
        var head = "POST \(path) HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.count)\r\nConnection: close\r\n"
        if let contentType { head += "Content-Type: \(contentType)\r\n" }
        for h in headers { head += h + "\r\n" }
        return Array((head + "\r\n").utf8) + body
    }

    static func classify(_ body: [UInt8], query: String = "", headers: [String] = []) -> [UInt8] {
        post("/v1/classify" + query, body: body, headers: headers)
    }

    static func fixture(_ name: String) throws -> [UInt8] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../ImagingTests/Fixtures/\(name)")
        return [UInt8](try Data(contentsOf: url))
    }

    static func png(width: Int = 8, height: Int = 8, channels: Int = 1) throws -> [UInt8] {
        [UInt8](try TestService.png(width: width, height: height, channels: channels))
    }

    static func raw(_ text: String) -> [UInt8] { Array(text.utf8) }

    // MARK: The catalogue

    static let imageEntries: [Entry] = [
        Entry(group: "image", name: "zero-byte body", status: 400) { classify([]) },
        Entry(group: "image", name: "truncated PNG", status: 400) { classify(try fixture("corrupt_truncated.png")) },
        Entry(group: "image", name: "PNG with bad CRC", status: 400) { classify(try fixture("corrupt_bad_crc.png")) },
        Entry(group: "image", name: "PNG with wrong dimensions", status: 400) { classify(try fixture("corrupt_wrong_dims.png")) },
        Entry(group: "image", name: "PNG chunk declaring 2 GB", status: 400) { classify(try fixture("corrupt_huge_chunk.png")) },
        Entry(group: "image", name: "PNG zlib bomb (1x1, IDAT inflates to 10 MB)", status: 400) {
            classify(try fixture("zlib_bomb_idat.png"))
        },
        Entry(group: "image", name: "truncated JPEG", status: 400) { classify(try fixture("corrupt_truncated.jpg")) },
        Entry(group: "image", name: "JPEG with bad Huffman table", status: 400) { classify(try fixture("corrupt_bad_huffman.jpg")) },
        Entry(group: "image", name: "JPEG with wrong dimensions", status: 400) { classify(try fixture("corrupt_wrong_dims.jpg")) },
        // Issue #16: this decoded as a 200 (arithmetic decoding fills missing data silently).
        Entry(group: "image", name: "arithmetic-coded JPEG declaring 4096x4096, data for 32x32", status: 415) {
            classify(try fixture("arith_declared_4096.jpg"))
        },
        Entry(group: "image", name: "GIF", status: 415) { classify(raw("GIF89a\u{01}\u{00}\u{01}\u{00}\u{00}\u{00}\u{00};")) },
        Entry(group: "image", name: "WebP", status: 415) { classify(raw("RIFF\u{1A}\u{00}\u{00}\u{00}WEBPVP8 ") + [UInt8](repeating: 0, count: 18)) },
        Entry(group: "image", name: "BMP", status: 415) { classify(raw("BM") + [UInt8](repeating: 0, count: 60)) },
        Entry(group: "image", name: "text body", status: 415) { classify(raw("hello, I am not an image")) },
        Entry(group: "image", name: "PNG bomb: 100000x100000 header, 100-byte file", status: 422) { classify(try fixture("bomb.png")) },
        Entry(group: "image", name: "JPEG bomb: 65000x65000 header", status: 422) { classify(try fixture("bomb.jpg")) },
        Entry(group: "image", name: "1x1 PNG", status: 200) { classify(try png(width: 1, height: 1)) },
        Entry(group: "image", name: "4000x1 PNG (extreme aspect ratio)", status: 200) { classify(try png(width: 4000, height: 1)) },
        Entry(group: "image", name: "1x4000 PNG (extreme aspect ratio)", status: 200) { classify(try png(width: 1, height: 4000)) },
        Entry(group: "image", name: "16-bit RGB PNG", status: 200) { classify(try fixture("rgb16.png")) },
        Entry(group: "image", name: "16-bit gray+alpha PNG", status: 200) { classify(try fixture("gray_alpha16.png")) },
        Entry(group: "image", name: "palette PNG with transparency", status: 200) { classify(try fixture("palette4_trns.png")) },
        Entry(group: "image", name: "interlaced RGBA PNG", status: 200) { classify(try fixture("interlaced_rgba8.png")) },
        Entry(group: "image", name: "RGBA PNG", status: 200) { classify(try fixture("rgba8.png")) },
        Entry(group: "image", name: "CMYK JPEG (Adobe)", status: 200) { classify(try fixture("cmyk_adobe.jpg")) },
        Entry(group: "image", name: "YCCK JPEG", status: 200) { classify(try fixture("ycck_adobe.jpg")) },
        Entry(group: "image", name: "progressive JPEG", status: 200) { classify(try fixture("progressive_rgb.jpg")) },
        Entry(group: "image", name: "grayscale JPEG", status: 200) { classify(try fixture("gray.jpg")) },
    ]

    static let httpEntries: [Entry] = [
        Entry(group: "http", name: "bad request line", status: 400) { raw("GARBAGE\r\n\r\n") },
        Entry(group: "http", name: "request line without version", status: 400) { raw("GET /healthz\r\n\r\n") },
        Entry(group: "http", name: "unsupported HTTP version", status: 505) { raw("GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n") },
        Entry(group: "http", name: "header without colon", status: 400) { raw("GET /healthz HTTP/1.1\r\nHost x\r\n\r\n") },
        Entry(group: "http", name: "obsolete header folding", status: 400) { raw("GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n") },
        Entry(group: "http", name: "overlong request line (20 KB)", status: 414) {
            raw("GET /healthz?" + String(repeating: "a", count: 20_000) + " HTTP/1.1\r\nHost: x\r\n\r\n")
        },
        Entry(group: "http", name: "overlong header (20 KB)", status: 431) {
            raw("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "a", count: 20_000) + "\r\n\r\n")
        },
        Entry(group: "http", name: "too many headers (200)", status: 431) {
            raw("GET /healthz HTTP/1.1\r\nHost: x\r\n" + (0..<200).map { "X-H\($0): v\r\n" }.joined() + "\r\n")
        },
        Entry(group: "http", name: "invalid chunk size", status: 400) {
            raw("POST /v1/classify HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n")
        },
        Entry(group: "http", name: "chunk size overflowing 64 bits", status: 400) {
            raw("POST /v1/classify HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nabc\r\n")
        },
        Entry(group: "http", name: "Content-Length with Transfer-Encoding", status: 400) {
            raw("POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        },
        Entry(group: "http", name: "two different Content-Lengths", status: 400) {
            raw("POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd")
        },
        Entry(group: "http", name: "negative Content-Length", status: 400) {
            raw("POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n")
        },
        Entry(group: "http", name: "Content-Length 10^12 (over the body limit)", status: 413) {
            raw("POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000000\r\n\r\n")
        },
        Entry(group: "http", name: "Content-Length overflowing 64 bits", status: 413) {
            raw("POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n")
        },
        Entry(group: "http", name: "Transfer-Encoding not ending in chunked", status: 400) {
            raw("POST /v1/classify HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n")
        },
        Entry(group: "http", name: "unsupported transfer coding (gzip, chunked)", status: 501) {
            raw("POST /v1/classify HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")
        },
        Entry(group: "http", name: "slow client: headers never finished", status: 408) { raw("GET /healthz HTTP/1.1\r\nHost: x\r\n") },
        Entry(group: "http", name: "slow client: body shorter than Content-Length", status: 408) {
            raw("POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
        },
        Entry(group: "http", name: "unknown route", status: 404) { raw("GET /v1/nothing HTTP/1.1\r\nHost: x\r\n\r\n") },
        Entry(group: "http", name: "wrong method", status: 405) { raw("DELETE /v1/classify HTTP/1.1\r\nHost: x\r\n\r\n") },
    ]

    static let optionEntries: [Entry] = [
        Entry(group: "options", name: "unknown model", status: 404) { classify(try png(), query: "?model=nosuch") },
        Entry(group: "options", name: "unknown purifier", status: 400) { classify(try png(), query: "?purifier=magic") },
        Entry(group: "options", name: "samples=0", status: 400) { classify(try png(), query: "?samples=0") },
        Entry(group: "options", name: "samples=10^9", status: 400) { classify(try png(), query: "?samples=1000000000") },
        Entry(group: "options", name: "samples=abc", status: 400) { classify(try png(), query: "?samples=abc") },
        Entry(group: "options", name: "quality=500", status: 400) { classify(try png(), query: "?purifier=jpeg&quality=500") },
        Entry(group: "options", name: "quality=0", status: 400) { classify(try png(), query: "?purifier=jpeg&quality=0") },
        Entry(group: "options", name: "top_k=-1", status: 400) { classify(try png(), query: "?top_k=-1") },
        Entry(group: "options", name: "seed=-5", status: 400) { classify(try png(), query: "?seed=-5") },
        Entry(group: "options", name: "multipart without boundary", status: 400) {
            post("/v1/classify", body: raw("--x\r\n\r\nabc\r\n--x--\r\n"), contentType: "multipart/form-data")
        },
        Entry(group: "options", name: "multipart with no image part", status: 400) {
            post("/v1/classify", body: raw("--b\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nabc\r\n--b--\r\n"),
                 contentType: "multipart/form-data; boundary=b")
        },
        Entry(group: "options", name: "multipart missing the closing boundary", status: 400) {
            post("/v1/classify", body: raw("--b\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\nabc"),
                 contentType: "multipart/form-data; boundary=b")
        },
        Entry(group: "options", name: "OIP v2 infer: malformed JSON", status: 400) {
            post("/v2/models/toy/infer", body: raw("{\"inputs\": [}"), contentType: "application/json")
        },
        Entry(group: "options", name: "OIP v2 infer: shape and data disagree", status: 400) {
            post("/v2/models/toy/infer", body: raw(#"{"inputs":[{"name":"x","shape":[1,8,8,1],"datatype":"FP32","data":[1,2,3]}]}"#),
                 contentType: "application/json")
        },
        Entry(group: "options", name: "OIP v2 infer: shape product overflowing", status: 400) {
            post("/v2/models/toy/infer",
                 body: raw(#"{"inputs":[{"name":"x","shape":[4294967296,4294967296,8,1],"datatype":"FP32","data":[1]}]}"#),
                 contentType: "application/json")
        },
        Entry(group: "options", name: "attack endpoint: eps=5", status: 400) {
            post("/v1/attack?eps=5", body: try png(), contentType: "image/png")
        },
    ]

    static let authEntries: [Entry] = [
        Entry(group: "auth", name: "API key missing", status: 401) { classify(try png()) },
        Entry(group: "auth", name: "API key wrong", status: 401) { classify(try png(), headers: ["Authorization: Bearer wrong-key"]) },
        Entry(group: "auth", name: "API key almost right (one byte off)", status: 401) {
            classify(try png(), headers: ["Authorization: Bearer s3cret-kez"])
        },
        Entry(group: "auth", name: "API key right", status: 200) { classify(try png(), headers: ["Authorization: Bearer s3cret-key"]) },
    ]

    static var all: [Entry] { imageEntries + httpEntries + optionEntries + authEntries }

    static func configuration(auth: Bool) -> ServiceConfiguration {
        var cfg = TestService.configuration()
        cfg.server.headerTimeoutSeconds = 1
        cfg.server.bodyTimeoutSeconds = 1
        if auth { cfg.auth.apiKeys = ["s3cret-key"] }
        return cfg
    }

    // MARK: Tests

    @Test func imageInputs() async throws { try await run(Self.imageEntries, auth: false) }
    @Test func malformedHTTP() async throws { try await run(Self.httpEntries, auth: false) }
    @Test func invalidOptions() async throws { try await run(Self.optionEntries, auth: false) }
    @Test func apiKeys() async throws { try await run(Self.authEntries, auth: true) }

    func run(_ entries: [Entry], auth: Bool) async throws {
        try await TestService.with(Self.configuration(auth: auth), sockets: true) { service in
            let port = Int(service.service.port)
            for entry in entries {
                let bytes = try entry.request()
                let reply: RawResponse
                do { reply = try await Self.exchange(bytes, port: port) } catch {
                    Issue.record("\(entry.name): \(error)")
                    continue
                }
                #expect(reply.status == entry.status, "\(entry.name): got \(reply.status) \(reply.bodyString.prefix(200))")
                if entry.status >= 400 {
                    #expect(reply.bodyString.contains("\"error\""), "\(entry.name): not a JSON error: \(reply.bodyString.prefix(200))")
                }
                let health = try await Self.exchange(Self.raw("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), port: port)
                #expect(health.status == 200, "/healthz after \(entry.name): \(health.status)")
            }
        }
    }

    /// One request on a fresh connection and its reply. The server may answer before it has
    /// read everything (oversized bodies), so sending stops quietly when it closes.
    static func exchange(_ bytes: [UInt8], port: Int) async throws -> RawResponse {
        let client = try RawClient(port: UInt16(port), timeout: 60)
        client.sendAllowingEarlyClose(bytes)
        return try await client.readResponse()
    }

    /// docs/RELIABILITY.md's table lists exactly these entries with these statuses.
    @Test func catalogue_matchesReliabilityDoc() throws {
        let doc = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../docs/RELIABILITY.md")
        let text = try String(contentsOf: doc, encoding: .utf8)
        // Only the catalogue section: other tables in the document have numbers too.
        let section = text.components(separatedBy: "\n## ").first { $0.hasPrefix("Bad-input catalogue") } ?? ""
        var documented: [String: Int] = [:]
        for line in section.split(separator: "\n") where line.hasPrefix("| ") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 4, let status = Int(cells[2]) else { continue }
            documented[cells[1].replacingOccurrences(of: "\\|", with: "|")] = status
        }
        for entry in Self.all {
            #expect(documented[entry.name] == entry.status, "RELIABILITY.md row for '\(entry.name)' should say \(entry.status)")
        }
        #expect(documented.count == Self.all.count, "RELIABILITY.md lists \(documented.count) inputs, the catalogue \(Self.all.count)")
    }
}
