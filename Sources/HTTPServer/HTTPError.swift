// MARK: - HTTPError

/// An error that carries the status to answer with.
///
/// Handlers throw it (`throw HTTPError(.notFound, "no such model")`) and the server turns
/// it into `{"error": {"code": 404, "message": "no such model"}}`, the one error shape
/// clients of this service ever see, including for errors the server produces itself.
public struct HTTPError: Error, Sendable, CustomStringConvertible {
    public var status: HTTPStatus
    public var message: String
    /// Extra headers for the error response (`Allow`, `Retry-After`, `WWW-Authenticate`).
    public var headers: HTTPHeaders

    public init(_ status: HTTPStatus, _ message: String? = nil, headers: HTTPHeaders = HTTPHeaders()) {
        self.status = status
        self.message = message ?? status.reasonPhrase
        self.headers = headers
    }

    public var description: String { "HTTPError(\(status.code)): \(message)" }

    /// The JSON error response.
    public var response: HTTPResponse {
        var headers = self.headers
        headers["Content-Type"] = "application/json"
        return HTTPResponse(status: status, headers: headers, body: Self.jsonBody(code: status.code, message: message))
    }

    /// `{"error":{"code":N,"message":"..."}}` with the message JSON-escaped.
    /// Hand-written so that error paths depend on nothing that could itself fail.
    public static func jsonBody(code: Int, message: String) -> [UInt8] {
        Array("{\"error\":{\"code\":\(code),\"message\":".utf8) + jsonString(message) + Array("}}".utf8)
    }

    /// `message` as a quoted, escaped JSON string.
    public static func jsonString(_ message: String) -> [UInt8] {
        var out: [UInt8] = [0x22]
        for scalar in message.unicodeScalars {
            switch scalar {
            case "\"": out += [0x5C, 0x22]
            case "\\": out += [0x5C, 0x5C]
            case "\n": out += [0x5C, 0x6E]
            case "\r": out += [0x5C, 0x72]
            case "\t": out += [0x5C, 0x74]
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += Array(("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).utf8)
            default:
                out += Array(String(scalar).utf8)
            }
        }
        out.append(0x22)
        return out
    }
}

// MARK: - HTTPErrorConvertible

/// Errors that know which HTTP status they mean. The server maps any thrown error
/// conforming to this to its JSON error response; all other errors become a 500
/// whose message does not leak the error's text.
public protocol HTTPErrorConvertible: Error {
    var httpError: HTTPError { get }
}

extension HTTPError: HTTPErrorConvertible {
    public var httpError: HTTPError { self }
}

extension HTTPParseError: HTTPErrorConvertible {
    public var httpError: HTTPError { HTTPError(status, description) }
}
