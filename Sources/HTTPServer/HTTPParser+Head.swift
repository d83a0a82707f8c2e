// MARK: - Head parsing

extension HTTPRequestParser {

    /// Parses a complete header section (request line through the empty line).
    ///
    /// `bytes` has already been checked for CRLF line endings and size limits by the
    /// scanner; this validates the grammar of each line and the framing semantics.
    static func parseHead(_ bytes: UnsafeBufferPointer<UInt8>, limits: HTTPParserLimits)
        throws(HTTPParseError) -> HTTPRequestHead
    {
        var lines = LineIterator(bytes: bytes)
        guard let requestLine = lines.next() else { throw .invalidRequestLine("empty request") }
        let (method, target, version) = try parseRequestLine(bytes, requestLine)

        var headers = HTTPHeaders()
        while let line = lines.next(), !line.isEmpty {
            let field = try parseField(bytes, line)
            headers.add(name: field.name, value: field.value)
        }
        return try interpret(method: method, target: target, version: version, headers: headers, limits: limits)
    }

    // MARK: - Request line

    /// `method SP request-target SP HTTP-version`, single spaces only (RFC 9112 §3).
    static func parseRequestLine(_ b: UnsafeBufferPointer<UInt8>, _ line: Range<Int>)
        throws(HTTPParseError) -> (HTTPMethod, String, HTTPVersion)
    {
        guard let sp1 = line.first(where: { b[$0] == .space }), sp1 > line.lowerBound else {
            throw .invalidRequestLine("missing method")
        }
        for i in line.lowerBound..<sp1 where !b[i].isTokenChar {
            throw .invalidRequestLine("invalid method")
        }
        let rest = (sp1 + 1)..<line.upperBound
        guard let sp2 = rest.first(where: { b[$0] == .space }), sp2 > sp1 + 1 else {
            throw .invalidRequestLine("missing request-target")
        }
        for i in (sp1 + 1)..<sp2 where !(0x21...0x7E).contains(b[i]) {
            throw .invalidRequestLine("invalid character in request-target")
        }
        let version = try parseVersion(b, (sp2 + 1)..<line.upperBound)
        let method = HTTPMethod(string(b, line.lowerBound..<sp1))
        let target = string(b, (sp1 + 1)..<sp2)
        try validateTargetForm(target, method: method)
        return (method, target, version)
    }

    /// Exactly `HTTP/` DIGIT `.` DIGIT; a well-formed non-1.x version is a 505.
    static func parseVersion(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) throws(HTTPParseError) -> HTTPVersion {
        let prefix: [UInt8] = Array("HTTP/".utf8)
        guard r.count == 8,
              (0..<5).allSatisfy({ b[r.lowerBound + $0] == prefix[$0] }),
              b[r.lowerBound + 6] == UInt8(ascii: "."),
              case let major = b[r.lowerBound + 5], (0x30...0x39).contains(major),
              case let minor = b[r.lowerBound + 7], (0x30...0x39).contains(minor)
        else { throw .invalidRequestLine("invalid HTTP version") }
        guard major == UInt8(ascii: "1") else { throw .unsupportedVersion }
        return HTTPVersion(major: 1, minor: Int(minor - 0x30))
    }

    /// Origin-form (`/path?query`), absolute-form (`http://host/path`) or `*` for OPTIONS.
    /// Authority-form is only for CONNECT, which a server that is not a proxy refuses.
    static func validateTargetForm(_ target: String, method: HTTPMethod) throws(HTTPParseError) {
        if target.utf8.first == UInt8(ascii: "/") { return }
        if target == "*" {
            guard method == .options else { throw .invalidRequestLine("'*' target is only valid for OPTIONS") }
            return
        }
        let lower = target.lowercased()
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") { return }
        throw .invalidRequestLine("unsupported request-target form")
    }

    // MARK: - Field lines

    /// `field-name ":" OWS field-value OWS` (RFC 9112 §5).
    static func parseField(_ b: UnsafeBufferPointer<UInt8>, _ line: Range<Int>)
        throws(HTTPParseError) -> HTTPHeaders.Field
    {
        let first = b[line.lowerBound]
        if first == .space || first == .tab { throw .obsoleteLineFolding }
        guard let colon = line.first(where: { b[$0] == .colon }) else {
            throw .invalidHeader("missing colon")
        }
        guard colon > line.lowerBound else { throw .invalidHeader("empty field name") }
        for i in line.lowerBound..<colon {
            let c = b[i]
            if c == .space || c == .tab { throw .invalidHeader("whitespace before colon") }
            if !c.isTokenChar { throw .invalidHeader("invalid character in field name") }
        }
        var lo = colon + 1, hi = line.upperBound
        while lo < hi && (b[lo] == .space || b[lo] == .tab) { lo += 1 }
        while hi > lo && (b[hi - 1] == .space || b[hi - 1] == .tab) { hi -= 1 }
        for i in lo..<hi where !b[i].isFieldValueChar {
            throw .invalidHeader("invalid character in field value")
        }
        return (name: string(b, line.lowerBound..<colon), value: string(b, lo..<hi))
    }

    // MARK: - Semantics

    /// Applies the framing, Host, Connection and Expect rules of RFC 9112 §§6-9.
    static func interpret(method: HTTPMethod, target: String, version: HTTPVersion, headers: HTTPHeaders,
                          limits: HTTPParserLimits) throws(HTTPParseError) -> HTTPRequestHead
    {
        if !version.isHTTP10 {
            let hosts = headers.values(for: "Host").count
            if hosts == 0 { throw .invalidHost("missing Host header") }
            if hosts > 1 { throw .invalidHost("more than one Host header") }
        }

        let contentLength = try parseContentLength(headers, limits: limits)
        let chunked = try parseTransferEncoding(headers)
        var framing = HTTPRequestHead.Framing.none
        if chunked {
            if contentLength != nil { throw .ambiguousFraming("both Content-Length and Transfer-Encoding") }
            if version.isHTTP10 { throw .invalidTransferEncoding("not allowed in HTTP/1.0") }
            framing = .chunked
        } else if let contentLength, contentLength > 0 {
            framing = .contentLength(contentLength)
        }

        var expectsContinue = false
        let expectations = headers.values(for: "Expect")
        if !expectations.isEmpty {
            guard expectations.count == 1,
                  HTTPHeaders.equalsIgnoringCase(expectations[0].trimmingOWS(), "100-continue")
            else { throw .expectationFailed }
            expectsContinue = !version.isHTTP10 && framing != .none
        }

        let keepAlive = version.isHTTP10
            ? headers.containsToken("keep-alive", in: "Connection") && !headers.containsToken("close", in: "Connection")
            : !headers.containsToken("close", in: "Connection")

        return HTTPRequestHead(method: method, target: target, version: version, headers: headers,
                               keepAlive: keepAlive, expectsContinue: expectsContinue, framing: framing)
    }

    /// Every `Content-Length` field (and every element of a list-valued one) must be
    /// 1*DIGIT and all must agree; anything else is a smuggling vector.
    static func parseContentLength(_ headers: HTTPHeaders, limits: HTTPParserLimits) throws(HTTPParseError) -> Int? {
        var result: Int?
        for value in headers.values(for: "Content-Length") {
            for element in value.split(separator: ",", omittingEmptySubsequences: false) {
                let digits = element.trimmingOWS().utf8
                guard !digits.isEmpty, digits.allSatisfy({ (0x30...0x39).contains($0) }) else {
                    throw .invalidContentLength
                }
                var length = 0
                for d in digits {
                    let (times10, o1) = length.multipliedReportingOverflow(by: 10)
                    let (sum, o2) = times10.addingReportingOverflow(Int(d - 0x30))
                    if o1 || o2 { throw .bodyTooLarge(limit: limits.maxBodyBytes) }
                    length = sum
                }
                if let result, result != length { throw .ambiguousFraming("differing Content-Length values") }
                result = length
            }
        }
        if let result, result > limits.maxBodyBytes { throw .bodyTooLarge(limit: limits.maxBodyBytes) }
        return result
    }

    /// Returns whether the body is chunked. `chunked` must be the final coding and occur
    /// once; other codings are not implemented (501).
    static func parseTransferEncoding(_ headers: HTTPHeaders) throws(HTTPParseError) -> Bool {
        let values = headers.values(for: "Transfer-Encoding")
        guard !values.isEmpty else { return false }
        var codings: [Substring] = []
        for value in values {
            for element in value.split(separator: ",", omittingEmptySubsequences: false) {
                let coding = element.trimmingOWS()
                if coding.isEmpty { throw .invalidTransferEncoding("empty transfer coding") }
                codings.append(coding)
            }
        }
        let chunkedCount = codings.filter { HTTPHeaders.equalsIgnoringCase($0, "chunked") }.count
        guard let last = codings.last, HTTPHeaders.equalsIgnoringCase(last, "chunked") else {
            throw .invalidTransferEncoding("chunked must be the final transfer coding")
        }
        if chunkedCount > 1 { throw .invalidTransferEncoding("chunked applied more than once") }
        if codings.count > 1 { throw .unsupportedTransferEncoding }
        return true
    }

    // MARK: - Helpers

    static func string(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: b[r]), as: UTF8.self)
    }

    /// Splits a CRLF-validated header section into line ranges (without the CRLF).
    struct LineIterator {
        let bytes: UnsafeBufferPointer<UInt8>
        var position = 0

        mutating func next() -> Range<Int>? {
            guard position < bytes.count else { return nil }
            var i = position
            while i < bytes.count && bytes[i] != .lf { i += 1 }
            let end = Swift.max(position, i - 1)  // drop the CR
            defer { position = i + 1 }
            return position..<end
        }
    }
}
