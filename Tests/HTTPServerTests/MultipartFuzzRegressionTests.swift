import Testing
@testable import HTTPServer

/// Inputs found by the multipart fuzzer (fuzz/multipart, scripts/fuzz.sh multipart); each is
/// also kept in fuzz/multipart/corpus.
@Suite("multipart/form-data fuzz regressions")
struct MultipartFuzzRegressionTests {
    /// RFC 2046 §5.1.1: body-part := MIME-part-headers [CRLF *OCTET]. A part with header
    /// fields and no content shares its last CRLF with the next delimiter; the parser used to
    /// look for the content's end only after the headers' CRLF CRLF, missed that delimiter and
    /// returned one part "a" whose content was the whole "image" part.
    /// Corpus: fuzz/multipart/corpus/headers-without-content.
    @Test func partWithHeadersButNoContent_doesNotSwallowTheNextPart() throws {
        let body = "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n"
            + "--b\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\nPNG\r\n--b--\r\n"
        let parts = try MultipartFormData.parse(Array(body.utf8), boundary: "b")
        #expect(parts.map(\.name) == ["a", "image"])
        #expect(parts[0].body.isEmpty)
        #expect(parts[0].headers.count == 1)
        #expect(parts[1].body == Array("PNG".utf8))
    }

    /// An empty body part (no header fields, no content) directly followed by the closing
    /// delimiter was rejected as "missing closing boundary".
    /// Corpus: fuzz/multipart/corpus/crash-empty-part.
    @Test func emptyPart_isParsed() throws {
        let parts = try MultipartFormData.parse(Array("--b\r\n\r\n--b--".utf8), boundary: "b")
        #expect(parts.count == 1)
        #expect(parts[0].body.isEmpty)
        #expect(parts[0].headers.isEmpty)
    }

    /// Content that is exactly CRLF-prefixed empty (the usual empty file field) still works.
    @Test func emptyContent_afterHeaders_isParsed() throws {
        let body = "--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"\"\r\n\r\n\r\n--b--"
        let parts = try MultipartFormData.parse(Array(body.utf8), boundary: "b")
        #expect(parts.count == 1)
        #expect(parts[0].name == "f")
        #expect(parts[0].body.isEmpty)
    }

    /// A boundary may contain ':' (RFC 2046 bchars), so a delimiter line inside a part's
    /// header section parsed as a header field named "--x" and the part's headers reached
    /// across the delimiter into the next part. Header fields now end at the delimiter.
    @Test func delimiterInsideHeaders_isRejected() {
        let body = "--x:y\r\nContent-Disposition: form-data; name=\"a\"\r\n"
            + "--x:y\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\nPNG\r\n--x:y--"
        #expect(throws: MultipartError.malformed("unterminated part headers")) {
            try MultipartFormData.parse(Array(body.utf8), boundary: "x:y")
        }
    }

    @Test func byteSearch_respectsItsBounds() {
        let hay = Array("abcabc".utf8)
        #expect(ByteSearch.firstIndex(of: Array("bc".utf8), in: hay, from: 0) == 1)
        #expect(ByteSearch.firstIndex(of: Array("bc".utf8), in: hay, from: 2) == 4)
        #expect(ByteSearch.firstIndex(of: Array("bc".utf8), in: hay, from: 0, before: 2) == nil)
        #expect(ByteSearch.firstIndex(of: Array("bc".utf8), in: hay, from: 0, before: 3) == 1)
        #expect(ByteSearch.firstIndex(of: Array("bc".utf8), in: hay, from: 7) == nil)
    }
}
