// libFuzzer entry point for the multipart/form-data parser (Sources/HTTPServer/Multipart.swift)
// and the Content-Type parsing that extracts its boundary.
//
// Input layout: everything up to the first LF is a Content-Type header value, the rest is
// the body. The service reads uploads with `MultipartFormData.parse(request)` (from
// `ImageInput.uploads`), which checks the media type and calls `boundary(fromContentType:)`
// (RFC 9110 parameters, quoted strings, 1-70 characters); this harness does the same with an
// `HTTPRequest`, and then parses the body directly with a boundary derived from the input
// (the header's if it has a valid one, else what follows a leading `--` in the body), so the
// body parser is reached even when the header line is mutated into nonsense.
//
// Built by scripts/fuzz.sh with `swiftc -sanitize=fuzzer,address -parse-as-library`
// together with the HTTPServer value-type sources only. Invariants checked beyond "does
// not crash":
//   * an extracted boundary is 1-70 printable ASCII characters, and header parameter
//     names are non-empty and lower-case;
//   * the request-level and body-level parses agree;
//   * at most `maxParts` parts;
//   * every part's body is a slice of the input, in order, non-overlapping, each directly
//     followed by CRLF "--" boundary, and containing no such delimiter itself;
//   * anything appended after a successfully parsed body (the epilogue) changes nothing;
//   * the parts agree with a naive reference parser written from the RFC 2046 grammar
//     (cut at every delimiter first, then split headers from content): a body the real
//     parser accepts is accepted by the reference with the same contents, and a body the
//     reference accepts is rejected only for a limit or an invalid header line.

import Foundation

let limits = MultipartFormData.Limits(maxParts: 8, maxPartHeaderBytes: 256)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMultipart(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let newline = input.firstIndex(of: 0x0A) ?? input.count
    let contentType = String(decoding: input[..<newline], as: UTF8.self)
    let body = newline < input.count ? Array(input[(newline + 1)...]) : []

    // Header parameters and the boundary, as the service extracts them.
    for name in HeaderParameters.parse(contentType).keys {
        check(!name.isEmpty && name == name.lowercased(), "bad parameter name '\(name)'")
    }
    let headerBoundary = MultipartFormData.boundary(fromContentType: contentType)
    if let b = headerBoundary {
        check((1...70).contains(b.utf8.count) && b.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F },
                     "invalid boundary accepted: \(b.debugDescription)")
    }

    // The request-level entry point the service calls.
    var headers = HTTPHeaders()
    headers.add(name: "Content-Type", value: contentType)
    let request = HTTPRequest(method: .post, target: "/upload", headers: headers, body: body)
    let viaRequest = Result { () throws(MultipartError) in try MultipartFormData.parse(request, limits: limits) }

    // The body parser with a boundary from the input.
    guard let boundary = headerBoundary ?? derivedBoundary(body) else { return 0 }
    let direct = Result { () throws(MultipartError) in try MultipartFormData.parse(body, boundary: boundary, limits: limits) }
    if headerBoundary != nil, case .success(let a) = viaRequest {
        guard case .success(let b) = direct else { fail("request parse succeeded, body parse failed") }
        check(summary(a) == summary(b), "request and body parses differ")
    }
    compareWithReference(direct, body: body, boundary: boundary)
    guard case .success(let parts) = direct else { return 0 }
    checkParts(parts, body: body, boundary: boundary)

    // Whatever follows the closing boundary is epilogue and must not matter.
    let epilogue: [UInt8] = [0x0D, 0x0A, 0x2D, 0x2D] + Array(boundary.utf8) + [0x0D, 0x0A] + input.prefix(16)
    guard let again = try? MultipartFormData.parse(body + epilogue, boundary: boundary, limits: limits) else {
        fail("appending an epilogue made a valid body fail")
    }
    check(summary(again) == summary(parts), "appending an epilogue changed the parts")
    return 0
}

// MARK: - Reference parser

/// One body part as the RFC 2046 grammar splits it.
struct ReferencePart {
    var content: [UInt8]
    var headerLines: Int
    var headerBytes: Int
}

/// A deliberately naive parser written straight from RFC 2046 §5.1.1:
///
///     multipart-body := [preamble CRLF] dash-boundary transport-padding CRLF
///                       body-part *encapsulation close-delimiter ...
///     encapsulation  := delimiter transport-padding CRLF body-part
///     delimiter      := CRLF dash-boundary
///     body-part      := MIME-part-headers [CRLF *OCTET]
///
/// It first cuts the body at every delimiter, and only then splits each body part into
/// headers and content, so no part can reach across a delimiter. Header lines are not
/// validated (the real parser's job); `nil` means the framing is malformed.
func referenceParse(_ body: [UInt8], boundary: String) -> [ReferencePart]? {
    let crlf: [UInt8] = [0x0D, 0x0A]
    let dashBoundary = [0x2D, 0x2D] + Array(boundary.utf8)
    let delimiter = crlf + dashBoundary
    var position: Int
    if body.starts(with: dashBoundary) {
        position = dashBoundary.count
    } else if let found = ByteSearch.firstIndex(of: delimiter, in: body, from: 0) {
        position = found + delimiter.count
    } else {
        return nil
    }
    var parts: [ReferencePart] = []
    while true {
        if body[position...].starts(with: [0x2D, 0x2D]) { return parts }   // close-delimiter
        while position < body.count && (body[position] == 0x20 || body[position] == 0x09) { position += 1 }
        guard body[position...].starts(with: crlf) else { return nil }
        position += 2
        guard let next = ByteSearch.firstIndex(of: delimiter, in: body, from: position) else { return nil }
        let part = Array(body[position..<next])
        let headers: ArraySlice<UInt8>
        let content: ArraySlice<UInt8>
        if part.starts(with: crlf) {                                            // no header fields
            (headers, content) = (part[0..<0], part[2...])
        } else if let end = ByteSearch.firstIndex(of: crlf + crlf, in: part, from: 0) {
            (headers, content) = (part[..<end], part[(end + 4)...])
        } else if part.isEmpty {                                                // nothing at all
            (headers, content) = (part[...], part[...])
        } else if part.suffix(2).elementsEqual(crlf) {                          // fields, no [CRLF *OCTET]
            (headers, content) = (part.dropLast(2), part[part.endIndex...])
        } else {
            return nil
        }
        var lines = headers.isEmpty ? 0 : 1                                     // fields end at CRLF
        for i in headers.indices.dropLast() where headers[i] == 0x0D && headers[i + 1] == 0x0A { lines += 1 }
        parts.append(ReferencePart(content: Array(content), headerLines: lines, headerBytes: headers.count))
        position = next + delimiter.count
    }
}

/// The real parser must agree with the reference wherever the reference accepts the
/// framing, except for the limits and for header lines, which only the real parser checks.
func compareWithReference(_ result: Result<[MultipartPart], MultipartError>, body: [UInt8], boundary: String) {
    let reference = referenceParse(body, boundary: boundary)
    switch (result, reference) {
    case (.success(let parts), let ref?):
        check(parts.map(\.body) == ref.map(\.content),
              "part contents differ from the RFC 2046 reference: \(parts.map(\.body)) vs \(ref.map(\.content))")
        check(parts.map(\.headers.count) == ref.map(\.headerLines), "part header counts differ from the reference")
    case (.success(let parts), nil):
        fail("accepted a body whose framing the RFC 2046 reference rejects: \(parts.map(\.body))")
    case (.failure(let error), let ref?):
        let withinLimits = ref.count <= limits.maxParts && ref.allSatisfy { $0.headerBytes <= limits.maxPartHeaderBytes }
        guard withinLimits else { return }
        if case .malformed(let why) = error, why.hasPrefix("invalid part header") { return }
        fail("rejected (\(error)) a body the RFC 2046 reference accepts with \(ref.count) parts")
    case (.failure, nil):
        break
    }
}

/// The boundary a body starting with `--` announces: up to the first CR, LF, space or tab.
func derivedBoundary(_ body: [UInt8]) -> String? {
    guard body.starts(with: [0x2D, 0x2D]) else { return nil }
    let rest = body.dropFirst(2).prefix { $0 != 0x0D && $0 != 0x0A && $0 != 0x20 && $0 != 0x09 }.prefix(70)
    guard !rest.isEmpty else { return nil }
    return String(decoding: rest, as: UTF8.self)
}

func summary(_ parts: [MultipartPart]) -> [String] {
    parts.map { "\($0.name ?? "-")|\($0.filename ?? "-")|\($0.contentType ?? "-")|\($0.headers.count)|\($0.body)" }
}

func checkParts(_ parts: [MultipartPart], body: [UInt8], boundary: String) {
    check(parts.count <= limits.maxParts, "\(parts.count) parts over the limit \(limits.maxParts)")
    let delimiter: [UInt8] = [0x0D, 0x0A, 0x2D, 0x2D] + Array(boundary.utf8)
    var cursor = 0
    for part in parts {
        check(ByteSearch.firstIndex(of: delimiter, in: part.body, from: 0) == nil, "part body holds a delimiter")
        // In order and non-overlapping: the body followed by the delimiter occurs after the previous one.
        guard let at = ByteSearch.firstIndex(of: part.body + delimiter, in: body, from: cursor) else {
            fail("part body is not a slice of the input followed by a delimiter")
        }
        cursor = at + part.body.count + delimiter.count
    }
}

/// `precondition` that prints its message in optimized builds too, then traps for libFuzzer.
func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fail(message()) }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("invariant failed: \(message)\n".utf8))
    fatalError(message)
}
