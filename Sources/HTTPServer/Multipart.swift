// MARK: - Multipart form data

/// One part of a `multipart/form-data` body (RFC 7578).
public struct MultipartPart: Sendable {
    public var headers: HTTPHeaders
    /// The `name` parameter of `Content-Disposition`.
    public var name: String?
    /// The `filename` (or `filename*`) parameter of `Content-Disposition`.
    public var filename: String?
    /// The part's `Content-Type`; RFC 7578 §4.4 says to assume `text/plain` when absent.
    public var contentType: String?
    public var body: [UInt8]
}

/// Why a multipart body was rejected.
public enum MultipartError: Error, Sendable, Equatable, CustomStringConvertible, HTTPErrorConvertible {
    case notMultipart
    case missingBoundary
    case malformed(String)
    case tooManyParts(limit: Int)
    case partHeadersTooLarge(limit: Int)

    public var description: String {
        switch self {
        case .notMultipart: "Content-Type is not multipart/form-data"
        case .missingBoundary: "multipart Content-Type has no valid boundary"
        case .malformed(let why): "malformed multipart body: \(why)"
        case .tooManyParts(let limit): "more than \(limit) multipart parts"
        case .partHeadersTooLarge(let limit): "multipart part headers larger than \(limit) bytes"
        }
    }

    public var httpError: HTTPError {
        HTTPError(self == .notMultipart ? .unsupportedMediaType : .badRequest, description)
    }
}

/// A bounded `multipart/form-data` parser over an already-received body.
///
/// The body itself is bounded by the server's `maxBodyBytes`; these limits bound the
/// work per part so a body of ten thousand empty parts cannot be used to burn CPU.
public enum MultipartFormData {
    public struct Limits: Sendable {
        public var maxParts: Int = 64
        public var maxPartHeaderBytes: Int = 8 * 1024
        public init(maxParts: Int = 64, maxPartHeaderBytes: Int = 8 * 1024) {
            self.maxParts = maxParts
            self.maxPartHeaderBytes = maxPartHeaderBytes
        }
    }

    /// Parses the body of `request`, which must be `multipart/form-data` with a boundary.
    public static func parse(_ request: HTTPRequest, limits: Limits = Limits()) throws(MultipartError) -> [MultipartPart] {
        guard let contentType = request.headers["Content-Type"],
              let type = contentType.split(separator: ";").first,
              HTTPHeaders.equalsIgnoringCase(type.trimmingOWS(), "multipart/form-data")
        else { throw .notMultipart }
        guard let boundary = boundary(fromContentType: contentType) else { throw .missingBoundary }
        return try parse(request.body, boundary: boundary, limits: limits)
    }

    /// The `boundary` parameter of a Content-Type value: 1-70 characters (RFC 2046 §5.1.1).
    public static func boundary(fromContentType value: String) -> String? {
        let parameters = HeaderParameters.parse(value)
        guard let boundary = parameters["boundary"], (1...70).contains(boundary.utf8.count),
              boundary.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else { return nil }
        return boundary
    }

    /// Parses `body` delimited by `boundary`.
    public static func parse(_ body: [UInt8], boundary: String, limits: Limits = Limits()) throws(MultipartError)
        -> [MultipartPart]
    {
        let dashBoundary = Array(("--" + boundary).utf8)
        let delimiter = [UInt8.cr, .lf] + dashBoundary
        // The first boundary may start the body or follow a preamble ending in CRLF.
        var position: Int
        if body.starts(with: dashBoundary) {
            position = dashBoundary.count
        } else if let found = ByteSearch.firstIndex(of: delimiter, in: body, from: 0) {
            position = found + delimiter.count
        } else {
            throw .malformed("no opening boundary")
        }

        var parts: [MultipartPart] = []
        while true {
            // After a boundary: "--" closes, otherwise optional padding then CRLF.
            if body.count - position >= 2 && body[position] == 0x2D && body[position + 1] == 0x2D { return parts }
            while position < body.count && (body[position] == .space || body[position] == .tab) { position += 1 }
            guard position + 1 < body.count, body[position] == .cr, body[position + 1] == .lf else {
                throw .malformed("boundary not followed by CRLF")
            }
            position += 2
            guard parts.count < limits.maxParts else { throw .tooManyParts(limit: limits.maxParts) }

            // A body part runs to the next delimiter, whatever it holds, and only then is split
            // into header fields and content (RFC 2046 §5.1.1: body-part := MIME-part-headers
            // [CRLF *OCTET]), so neither can reach across a delimiter. Searching for the
            // content's end only after the headers' CRLF CRLF missed a delimiter that shared
            // that CRLF (a part with headers but no content, or an empty part), and merged the
            // next part into this one's content (found by fuzz/multipart).
            guard let partEnd = ByteSearch.firstIndex(of: delimiter, in: body, from: position) else {
                throw .malformed("missing closing boundary")
            }
            let headersRange: Range<Int>
            let contentStart: Int
            if partEnd - position >= 2 && body[position] == .cr && body[position + 1] == .lf {
                headersRange = position..<position                  // no header fields
                contentStart = position + 2
            } else if let headerEnd = ByteSearch.firstIndex(of: [.cr, .lf, .cr, .lf], in: body, from: position, before: partEnd) {
                headersRange = position..<headerEnd
                contentStart = headerEnd + 4
            } else if partEnd == position {
                headersRange = position..<position                  // an empty part
                contentStart = partEnd
            } else if partEnd - position >= 2 && body[partEnd - 2] == .cr && body[partEnd - 1] == .lf {
                headersRange = position..<(partEnd - 2)             // header fields, no content
                contentStart = partEnd
            } else {
                throw .malformed("unterminated part headers")
            }
            if headersRange.count > limits.maxPartHeaderBytes {
                throw .partHeadersTooLarge(limit: limits.maxPartHeaderBytes)
            }
            let headers = try parseHeaders(body[headersRange])
            parts.append(makePart(headers: headers, body: Array(body[contentStart..<partEnd])))
            position = partEnd + delimiter.count
        }
    }

    // MARK: - Part headers

    private static func parseHeaders(_ bytes: ArraySlice<UInt8>) throws(MultipartError) -> HTTPHeaders {
        var headers = HTTPHeaders()
        guard !bytes.isEmpty else { return headers }
        let text = String(decoding: bytes, as: UTF8.self)
        for line in text.split(separator: "\r\n", omittingEmptySubsequences: false) {
            guard let colon = line.firstIndex(of: ":"), colon > line.startIndex else {
                throw .malformed("invalid part header")
            }
            let name = line[..<colon]
            guard name.utf8.allSatisfy(\.isTokenChar) else { throw .malformed("invalid part header name") }
            headers.add(name: String(name), value: String(line[line.index(after: colon)...].trimmingOWS()))
        }
        return headers
    }

    private static func makePart(headers: HTTPHeaders, body: [UInt8]) -> MultipartPart {
        let disposition = headers["Content-Disposition"].map(HeaderParameters.parse) ?? [:]
        var filename = disposition["filename"]
        if let extended = disposition["filename*"], let decoded = HeaderParameters.decodeExtended(extended) {
            filename = decoded
        }
        return MultipartPart(headers: headers, name: disposition["name"], filename: filename,
                             contentType: headers["Content-Type"], body: body)
    }
}

// MARK: - Header parameters

/// `type; key=value; key="quoted \"value\""` parameter parsing (RFC 9110 §5.6.6).
enum HeaderParameters {
    /// Parameter names are lower-cased; the leading type/disposition is skipped.
    static func parse(_ value: String) -> [String: String] {
        var result: [String: String] = [:]
        var chars = Substring(value)
        // Skip the first element (media type or disposition type).
        guard let semi = chars.firstIndex(of: ";") else { return result }
        chars = chars[chars.index(after: semi)...]
        while !chars.isEmpty {
            chars = chars.drop { $0 == " " || $0 == "\t" || $0 == ";" }
            guard let eq = chars.firstIndex(of: "=") else { break }
            let name = chars[..<eq].trimmingOWS().lowercased()
            chars = chars[chars.index(after: eq)...].drop { $0 == " " || $0 == "\t" }
            var parsed = ""
            if chars.first == "\"" {
                chars = chars.dropFirst()
                while let c = chars.first, c != "\"" {
                    chars = chars.dropFirst()
                    if c == "\\", let escaped = chars.first {
                        parsed.append(escaped)
                        chars = chars.dropFirst()
                    } else {
                        parsed.append(c)
                    }
                }
                chars = chars.dropFirst()
                chars = chars.drop { $0 != ";" }
            } else {
                let end = chars.firstIndex(of: ";") ?? chars.endIndex
                parsed = String(chars[..<end].trimmingOWS())
                chars = chars[end...]
            }
            if !name.isEmpty && result[name] == nil { result[name] = parsed }
        }
        return result
    }

    /// RFC 8187 `charset'lang'percent-encoded` (only UTF-8 is decoded).
    static func decodeExtended(_ value: String) -> String? {
        let parts = value.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, HTTPHeaders.equalsIgnoringCase(parts[0], "utf-8") else { return nil }
        return PercentDecoding.decode(parts[2])
    }
}

// MARK: - Byte search

enum ByteSearch {
    /// First index of `needle` wholly inside `haystack[from..<before]` (`before` defaults to
    /// the end), or `nil`.
    static func firstIndex(of needle: [UInt8], in haystack: [UInt8], from: Int, before: Int? = nil) -> Int? {
        let end = min(before ?? haystack.count, haystack.count)
        guard let first = needle.first, from >= 0, end - from >= needle.count else { return nil }
        let lastStart = end - needle.count
        return haystack.withUnsafeBufferPointer { h -> Int? in
            needle.withUnsafeBufferPointer { n -> Int? in
                var i = from
                while i <= lastStart {
                    if h[i] == first {
                        var j = 1
                        while j < n.count && h[i + j] == n[j] { j += 1 }
                        if j == n.count { return i }
                    }
                    i += 1
                }
                return nil
            }
        }
    }
}
