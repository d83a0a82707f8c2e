import Testing
@testable import HTTPServer

// MARK: - Helpers

private func parse(_ text: String, limits: HTTPParserLimits = HTTPParserLimits()) throws(HTTPParseError) -> [HTTPParserEvent] {
    var parser = HTTPRequestParser(limits: limits)
    return try parser.parse(Array(text.utf8))
}

private func requests(_ events: [HTTPParserEvent]) -> [ParsedRequest] {
    events.compactMap { if case .request(let r) = $0 { r } else { nil } }
}

private func parseError(_ text: String, limits: HTTPParserLimits = HTTPParserLimits()) -> HTTPParseError? {
    do {
        _ = try parse(text, limits: limits)
        return nil
    } catch {
        return error
    }
}

// MARK: - Well-formed requests

@Suite("HTTP/1.1 request parser")
struct HTTPParserTests {

    @Test func simpleGet_isParsed() throws {
        let events = try parse("GET /v2/models?x=1 HTTP/1.1\r\nHost: example\r\nAccept: */*\r\n\r\n")
        let request = try #require(requests(events).first)
        #expect(request.head.method == .get)
        #expect(request.head.target == "/v2/models?x=1")
        #expect(request.head.version == .http1_1)
        #expect(request.head.headers["host"] == "example")
        #expect(request.head.headers["ACCEPT"] == "*/*")
        #expect(request.head.keepAlive)
        #expect(request.body.isEmpty)
    }

    @Test func requestFedByteByByte_isParsedOnce() throws {
        var parser = HTTPRequestParser()
        let bytes = Array("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello".utf8)
        var events: [HTTPParserEvent] = []
        for byte in bytes {
            parser.append([byte])
            while let event = try parser.next() { events.append(event) }
        }
        let request = try #require(requests(events).first)
        #expect(events.count == 1)
        #expect(request.body == Array("hello".utf8))
    }

    @Test func pipelinedRequests_areReturnedInOrder() throws {
        let text = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
            + "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
            + "GET /c HTTP/1.1\r\nHost: h\r\n\r\n"
        let targets = requests(try parse(text)).map(\.head.target)
        #expect(targets == ["/a", "/b", "/c"])
    }

    @Test func leadingEmptyLines_areIgnored() throws {
        let events = try parse("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(requests(events).count == 1)
    }

    @Test func headerValues_areTrimmedOfOptionalWhitespace() throws {
        let request = try #require(requests(try parse("GET / HTTP/1.1\r\nHost: h\r\nX-A: \t value \t\r\n\r\n")).first)
        #expect(request.head.headers["x-a"] == "value")
    }

    @Test func absoluteFormTarget_isAccepted() throws {
        let request = try #require(requests(try parse("GET http://h/p?q=1 HTTP/1.1\r\nHost: h\r\n\r\n")).first)
        #expect(HTTPRequest.split(target: request.head.target).path == "/p")
    }

    @Test func asteriskTarget_onlyForOptions() throws {
        #expect(requests(try parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n")).count == 1)
        #expect(parseError("GET * HTTP/1.1\r\nHost: h\r\n\r\n") == .invalidRequestLine("'*' target is only valid for OPTIONS"))
    }

    // MARK: - Bodies

    @Test func contentLengthBody_isRead() throws {
        var parser = HTTPRequestParser()
        parser.append(Array("PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n01234".utf8))
        #expect(try parser.next() == nil)
        #expect(parser.phase == .body)
        parser.append(Array("56789".utf8))
        guard case .request(let request) = try parser.next() else { Issue.record("no request"); return }
        #expect(request.body == Array("0123456789".utf8))
        #expect(parser.phase == .idle)
    }

    @Test func chunkedBody_isDecoded() throws {
        let text = "POST /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5;name=value;flag\r\nhello\r\n"
            + "7 ; q=\"quoted\"\r\n, world\r\n"
            + "0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n"
        let request = try #require(requests(try parse(text)).first)
        #expect(request.body == Array("hello, world".utf8))
        #expect(request.head.framing == .chunked)
        #expect(request.trailers["x-checksum"] == "abc")
        #expect(request.trailers.count == 2)
    }

    @Test func chunkedBodyFedByteByByte_isDecoded() throws {
        let text = "POST /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n1\r\nX\r\n0\r\n\r\n"
            + "GET /next HTTP/1.1\r\nHost: h\r\n\r\n"
        var parser = HTTPRequestParser()
        var events: [HTTPParserEvent] = []
        for byte in text.utf8 {
            parser.append([byte])
            while let event = try parser.next() { events.append(event) }
        }
        let all = requests(events)
        #expect(all.count == 2)
        #expect(all.first?.body == Array("0123456789X".utf8))
        #expect(all.last?.head.target == "/next")
    }

    @Test func uppercaseHexChunkSize_isAccepted() throws {
        let body = String(repeating: "z", count: 26)
        let text = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1A\r\n\(body)\r\n0\r\n\r\n"
        #expect(requests(try parse(text)).first?.body.count == 26)
    }

    // MARK: - Expect: 100-continue

    @Test func expectContinue_isSignalledBeforeBody() throws {
        var parser = HTTPRequestParser()
        parser.append(Array("POST /u HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n".utf8))
        guard case .continueRequested(let head) = try parser.next() else { Issue.record("expected continue"); return }
        #expect(head.expectsContinue)
        #expect(try parser.next() == nil)
        parser.append(Array("abc".utf8))
        guard case .request(let request) = try parser.next() else { Issue.record("expected request"); return }
        #expect(request.body == Array("abc".utf8))
    }

    @Test func expectContinue_withBodyAlreadySent_isNotSignalled() throws {
        let events = try parse("POST /u HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc")
        #expect(events.count == 1)
        #expect(requests(events).count == 1)
    }

    @Test func unknownExpectation_is417() {
        let error = parseError("POST /u HTTP/1.1\r\nHost: h\r\nExpect: something\r\nContent-Length: 1\r\n\r\nx")
        #expect(error == .expectationFailed)
        #expect(error?.status.code == 417)
    }

    // MARK: - Connection semantics

    @Test func http10_closesByDefault() throws {
        let request = try #require(requests(try parse("GET / HTTP/1.0\r\n\r\n")).first)
        #expect(!request.head.keepAlive)
        #expect(request.head.version.isHTTP10)
    }

    @Test func http10_keepAliveIsHonoured() throws {
        let request = try #require(requests(try parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")).first)
        #expect(request.head.keepAlive)
    }

    @Test func http11_connectionClose_isHonoured() throws {
        let request = try #require(requests(try parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, close\r\n\r\n")).first)
        #expect(!request.head.keepAlive)
    }

    @Test func parser_staysFailedAfterAnError() throws {
        var parser = HTTPRequestParser()
        parser.append(Array("GET / HTTP/1.1\nHost: h\r\n\r\n".utf8))
        #expect(throws: HTTPParseError.invalidLineEnding) { try parser.next() }
        parser.append(Array("GET / HTTP/1.1\r\nHost: h\r\n\r\n".utf8))
        #expect(throws: HTTPParseError.invalidLineEnding) { try parser.next() }
        #expect(parser.hasFailed)
    }
}

// MARK: - Framing and syntax errors

@Suite("Parser rejects ambiguous or malformed input")
struct HTTPParserRejectionTests {

    @Test func contentLengthAndTransferEncoding_isRejected() {
        let error = parseError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        #expect(error == .ambiguousFraming("both Content-Length and Transfer-Encoding"))
    }

    @Test func differingContentLengths_areRejected() {
        #expect(parseError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd")
                == .ambiguousFraming("differing Content-Length values"))
        #expect(parseError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 4\r\n\r\nabcd")
                == .ambiguousFraming("differing Content-Length values"))
    }

    @Test func identicalContentLengths_areAccepted() throws {
        let events = try parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc")
        #expect(requests(events).first?.body == Array("abc".utf8))
    }

    @Test(arguments: ["+3", "-3", "3 3", "0x3", "", "3a", " "])
    func invalidContentLength_isRejected(value: String) {
        #expect(parseError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \(value)\r\n\r\nabc") == .invalidContentLength)
    }

    @Test(arguments: [
        ("g\r\n", "missing chunk size"),
        ("\r\n", "missing chunk size"),
        (" 5\r\nhello\r\n0\r\n\r\n", "missing chunk size"),
        ("5 \r\nhello\r\n0\r\n\r\n", "whitespace after chunk size"),
        ("5x\r\nhello\r\n0\r\n\r\n", "invalid character after chunk size"),
        ("fffffffffffffffff\r\n", "chunk size too large"),
        ("5\r\nhelloXX0\r\n\r\n", "chunk data not followed by CRLF"),
        ("5;a=\u{01}\r\nhello\r\n0\r\n\r\n", "invalid character in chunk extension"),
    ])
    func badChunks_areRejected(body: String, reason: String) {
        let error = parseError("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
        #expect(error == .invalidChunk(reason))
    }

    @Test func chunkSizeLineWithBareLF_isRejected() {
        let error = parseError("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n")
        #expect(error == .invalidLineEnding)
    }

    @Test func obsFold_isRejected() {
        #expect(parseError("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n  continued\r\n\r\n") == .obsoleteLineFolding)
        #expect(parseError("GET / HTTP/1.1\r\n Host: h\r\n\r\n") == .obsoleteLineFolding)
    }

    @Test func whitespaceBeforeColon_isRejected() {
        #expect(parseError("GET / HTTP/1.1\r\nHost : h\r\n\r\n") == .invalidHeader("whitespace before colon"))
        #expect(parseError("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding\t: chunked\r\n\r\n")
                == .invalidHeader("whitespace before colon"))
    }

    @Test(arguments: ["X(A)", "X/A", "X\"A", "Ä", "X@A"])
    func nonTokenHeaderName_isRejected(name: String) {
        #expect(parseError("GET / HTTP/1.1\r\nHost: h\r\n\(name): v\r\n\r\n") == .invalidHeader("invalid character in field name"))
    }

    @Test func headerWithoutColon_isRejected() {
        #expect(parseError("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n") == .invalidHeader("missing colon"))
    }

    @Test func controlCharacterInValue_isRejected() {
        #expect(parseError("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\u{00}b\r\n\r\n") == .invalidHeader("invalid character in field value"))
        #expect(parseError("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\rb\r\n\r\n") == .invalidHeader("invalid character in field value"))
    }

    @Test func bareLF_isRejected() {
        #expect(parseError("GET / HTTP/1.1\nHost: h\n\n") == .invalidLineEnding)
        #expect(parseError("GET / HTTP/1.1\r\nHost: h\n\r\n") == .invalidLineEnding)
        #expect(parseError("GET / HTTP/1.1\r\nHost: h\r\n\n") == .invalidLineEnding)
    }

    @Test func missingOrRepeatedHost_isRejected() {
        #expect(parseError("GET / HTTP/1.1\r\n\r\n") == .invalidHost("missing Host header"))
        #expect(parseError("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n") == .invalidHost("more than one Host header"))
    }

    @Test func transferEncodingRules() {
        let prefix = "POST / HTTP/1.1\r\nHost: h\r\n"
        #expect(parseError(prefix + "Transfer-Encoding: gzip, chunked\r\n\r\n") == .unsupportedTransferEncoding)
        #expect(parseError(prefix + "Transfer-Encoding: gzip, chunked\r\n\r\n")?.status.code == 501)
        #expect(parseError(prefix + "Transfer-Encoding: chunked, gzip\r\n\r\n")
                == .invalidTransferEncoding("chunked must be the final transfer coding"))
        #expect(parseError(prefix + "Transfer-Encoding: identity\r\n\r\n")
                == .invalidTransferEncoding("chunked must be the final transfer coding"))
        #expect(parseError(prefix + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n")
                == .invalidTransferEncoding("chunked applied more than once"))
        #expect(parseError("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
                == .invalidTransferEncoding("not allowed in HTTP/1.0"))
    }

    @Test func versions() {
        #expect(parseError("GET / HTTP/2.0\r\nHost: h\r\n\r\n") == .unsupportedVersion)
        #expect(parseError("GET / HTTP/2.0\r\nHost: h\r\n\r\n")?.status.code == 505)
        #expect(parseError("GET / HTTP/1.10\r\nHost: h\r\n\r\n") == .invalidRequestLine("invalid HTTP version"))
        #expect(parseError("GET / http/1.1\r\nHost: h\r\n\r\n") == .invalidRequestLine("invalid HTTP version"))
    }

    @Test func requestLineShape() {
        #expect(parseError("GET  / HTTP/1.1\r\nHost: h\r\n\r\n") == .invalidRequestLine("missing request-target"))
        #expect(parseError("G(T / HTTP/1.1\r\nHost: h\r\n\r\n") == .invalidRequestLine("invalid method"))
        #expect(parseError(" GET / HTTP/1.1\r\nHost: h\r\n\r\n") == .invalidRequestLine("missing method"))
        #expect(parseError("GET /a\u{7F}b HTTP/1.1\r\nHost: h\r\n\r\n") == .invalidRequestLine("invalid character in request-target"))
        #expect(parseError("GET example.com HTTP/1.1\r\nHost: h\r\n\r\n") == .invalidRequestLine("unsupported request-target form"))
    }

    @Test func tooManyLeadingEmptyLines_areRejected() {
        let text = String(repeating: "\r\n", count: 20) + "GET / HTTP/1.1\r\nHost: h\r\n\r\n"
        #expect(parseError(text) == .invalidRequestLine("too many empty lines before request line"))
    }
}

// MARK: - Limits

@Suite("Parser limits")
struct HTTPParserLimitTests {

    @Test func headerSectionTooLarge_is431() {
        let limits = HTTPParserLimits(maxHeaderBytes: 256)
        let error = parseError("GET / HTTP/1.1\r\nHost: h\r\nX-Big: \(String(repeating: "a", count: 300))\r\n\r\n", limits: limits)
        #expect(error == .headerSectionTooLarge(limit: 256))
        #expect(error?.status.code == 431)
    }

    @Test func unterminatedHugeHeader_is431WithoutWaitingForTheEnd() {
        let limits = HTTPParserLimits(maxHeaderBytes: 256)
        #expect(parseError("GET / HTTP/1.1\r\nX: \(String(repeating: "a", count: 300))", limits: limits)
                == .headerSectionTooLarge(limit: 256))
    }

    @Test func tooManyHeaders_is431() {
        let limits = HTTPParserLimits(maxHeaderCount: 3)
        let headers = (0..<5).map { "X-\($0): v\r\n" }.joined()
        #expect(parseError("GET / HTTP/1.1\r\nHost: h\r\n\(headers)\r\n", limits: limits) == .tooManyHeaders(limit: 3))
    }

    @Test func requestLineTooLong_is414() {
        let limits = HTTPParserLimits(maxRequestLineBytes: 64)
        let error = parseError("GET /\(String(repeating: "a", count: 100))", limits: limits)
        #expect(error == .requestLineTooLong(limit: 64))
        #expect(error?.status.code == 414)
    }

    /// Regression (found by the http-request fuzzer, issue #16 run): a request line of exactly
    /// the limit was refused when its bytes arrived split between CR and LF (the pending CR
    /// was counted as part of the line) and accepted when they arrived together.
    @Test(arguments: [63, 64, 65])
    func requestLineAtTheLimit_isJudgedAlike_howeverTheBytesArrive(_ length: Int) throws {
        let limits = HTTPParserLimits(maxRequestLineBytes: 64)
        let line = "GET /" + String(repeating: "a", count: length - 14) + " HTTP/1.1"
        #expect(line.utf8.count == length)
        let bytes = Array((line + "\r\nHost: h\r\n\r\n").utf8)
        func outcome(_ pieces: [ArraySlice<UInt8>]) -> String {
            var parser = HTTPRequestParser(limits: limits)
            var targets: [String] = []
            do {
                for piece in pieces {
                    parser.append(piece)
                    while let event = try parser.next() { if case .request(let r) = event { targets.append(r.head.target) } }
                }
            } catch { return "\(error)" }
            return "\(targets)"
        }
        let crAt = line.utf8.count + 1   // split right after the CR
        let whole = outcome([bytes[...]])
        #expect(outcome([bytes[..<crAt], bytes[crAt...]]) == whole)
        #expect(outcome(bytes.indices.map { bytes[$0...$0] }) == whole)
        #expect(whole.contains("request line longer than 64 bytes") == (length > 64), "\(length): \(whole)")
        #expect(whole.contains("/aaa") == (length <= 64), "\(length): \(whole)")
    }

    @Test func contentLengthOverLimit_is413BeforeAnyBodyByte() {
        let limits = HTTPParserLimits(maxBodyBytes: 1000)
        let error = parseError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1001\r\n\r\n", limits: limits)
        #expect(error == .bodyTooLarge(limit: 1000))
        #expect(error?.status.code == 413)
    }

    /// The server answers a failed request in the shape of its path's protocol (issue #17:
    /// `/v2` errors are `{"error": "…"}`), so the parser keeps the target it had read.
    @Test func failedTarget_isTheRequestTarget_whenTheRequestLineWasRead() {
        func failed(_ text: String, limits: HTTPParserLimits = HTTPParserLimits()) -> String? {
            var parser = HTTPRequestParser(limits: limits)
            parser.append(Array(text.utf8))
            _ = try? parser.next()
            return parser.failedTarget
        }
        let small = HTTPParserLimits(maxBodyBytes: 10)
        #expect(failed("POST /v2/models/m/infer?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", limits: small)
                == "/v2/models/m/infer?x=1")
        #expect(failed("POST /v2/models/m/infer HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n",
                       limits: small) == "/v2/models/m/infer")
        #expect(failed("GET /v2 HTTP/1.1\r\nHost h\r\n\r\n") == "/v2")
        #expect(failed("GARBAGE\r\n\r\n") == nil)
        #expect(failed("GET /ok HTTP/1.1\r\nHost: h\r\n\r\n") == nil)
    }

    @Test func hugeContentLength_is413NotOverflow() {
        #expect(parseError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n")
                == .bodyTooLarge(limit: HTTPParserLimits().maxBodyBytes))
    }

    @Test func chunkedRunningTotalOverLimit_is413() {
        let limits = HTTPParserLimits(maxBodyBytes: 10)
        let text = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n"
        #expect(parseError(text, limits: limits) == .bodyTooLarge(limit: 10))
    }

    @Test func oversizedTrailers_are431() {
        let limits = HTTPParserLimits(maxHeaderBytes: 128)
        let text = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: \(String(repeating: "t", count: 200))\r\n\r\n"
        #expect(parseError(text, limits: limits) == .headerSectionTooLarge(limit: 128))
    }

    @Test func chunkLineTooLong_isRejected() {
        let text = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;\(String(repeating: "e", count: 5000))"
        #expect(parseError(text) == .invalidChunk("chunk-size line too long"))
    }
}
