// MARK: - ResponseEncoder

/// Serialises response heads and chunk framing.
///
/// The server owns the framing headers: whatever a handler put in `Content-Length`,
/// `Transfer-Encoding`, `Connection` or `Date` is replaced, and fields whose name is not
/// a token or whose value contains CR, LF or NUL are dropped, so a handler that echoes
/// user input into a header cannot split the response.
enum ResponseEncoder {

    /// How the body that follows the head is delimited.
    enum Framing {
        /// No body (HEAD, 1xx, 204, 304) but still announce a length where one applies.
        case length(Int)
        case chunked
        /// HTTP/1.0 streaming: the body ends when the connection closes.
        case closeDelimited
        /// 1xx/204/304: neither Content-Length nor Transfer-Encoding.
        case none
    }

    private static let ownedHeaders = [
        "Content-Length", "Transfer-Encoding", "Connection", "Date", "X-Request-Id", "Keep-Alive",
    ]

    static func head(status: HTTPStatus, headers: HTTPHeaders, framing: Framing, keepAlive: Bool,
                     requestID: String?, serverName: String?) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(192 + headers.count * 40)
        out += "HTTP/1.1 ".utf8
        out += String(status.code).utf8
        out.append(.space)
        out += sanitizedReason(status.reasonPhrase).utf8
        out += crlf
        for field in headers where isSafe(field) && !isOwned(field.name) {
            out += field.name.utf8
            out += ": ".utf8
            out += field.value.utf8
            out += crlf
        }
        if let serverName {
            out += "Server: ".utf8
            out += serverName.utf8
            out += crlf
        }
        out += "Date: ".utf8
        out += HTTPDate.shared.current()
        out += crlf
        out += keepAlive ? "Connection: keep-alive\r\n".utf8 : "Connection: close\r\n".utf8
        switch framing {
        case .length(let n):
            out += "Content-Length: ".utf8
            out += String(n).utf8
            out += crlf
        case .chunked:
            out += "Transfer-Encoding: chunked\r\n".utf8
        case .closeDelimited, .none:
            break
        }
        if let requestID {
            out += "X-Request-Id: ".utf8
            out += requestID.utf8
            out += crlf
        }
        out += crlf
        return out
    }

    /// `100 Continue` interim response (RFC 9110 §15.2.1).
    static let continueResponse: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    /// Frames one chunk: `size-in-hex CRLF data CRLF`.
    static func appendChunk(_ bytes: [UInt8], to out: inout [UInt8]) {
        out += String(bytes.count, radix: 16).utf8
        out += crlf
        out += bytes
        out += crlf
    }

    static let lastChunk: [UInt8] = Array("0\r\n\r\n".utf8)

    private static let crlf: [UInt8] = [.cr, .lf]

    /// Allocation-free check against the server-owned framing headers.
    private static func isOwned(_ name: String) -> Bool {
        ownedHeaders.contains { HTTPHeaders.equalsIgnoringCase($0, name) }
    }

    private static func isSafe(_ field: HTTPHeaders.Field) -> Bool {
        !field.name.isEmpty && field.name.utf8.allSatisfy(\.isTokenChar)
            && field.value.utf8.allSatisfy { $0.isFieldValueChar }
    }

    private static func sanitizedReason(_ reason: String) -> String {
        reason.utf8.allSatisfy({ $0.isFieldValueChar }) ? reason : ""
    }
}
