import HTTPServer
import Imaging
import Purification
import Certification

/// Errors the service answers with; each knows its HTTP status.
public enum ServiceError: Error, CustomStringConvertible, HTTPErrorConvertible {
    case configuration(String)
    case badRequest(String)
    case unsupportedMediaType(String)
    case unprocessable(String)
    case notFound(String)
    case unauthorized(String)
    case rateLimited(retryAfter: Int)
    case overloaded(retryAfter: Int)
    case timedOut(String)
    case notReady(String)
    case upstreamFailed(String)
    case upstreamTimedOut(String)
    case internalError(String)

    public var description: String {
        switch self {
        case .configuration(let m): return "configuration error: \(m)"
        case .badRequest(let m), .unsupportedMediaType(let m), .unprocessable(let m), .notFound(let m),
             .unauthorized(let m), .timedOut(let m), .notReady(let m), .internalError(let m): return m
        case .rateLimited(let s): return "rate limit exceeded; retry after \(s) s"
        case .overloaded(let s): return "server is at capacity; retry after \(s) s"
        case .upstreamFailed(let m): return "upstream classifier failed: \(m)"
        case .upstreamTimedOut(let m): return "upstream classifier timed out: \(m)"
        }
    }

    public var httpError: HTTPError {
        switch self {
        case .configuration, .internalError: return HTTPError(.internalServerError, description)
        case .badRequest: return HTTPError(.badRequest, description)
        case .unsupportedMediaType: return HTTPError(.unsupportedMediaType, description)
        case .unprocessable: return HTTPError(.unprocessableContent, description)
        case .notFound: return HTTPError(.notFound, description)
        case .unauthorized:
            var h = HTTPHeaders()
            h["WWW-Authenticate"] = "Bearer"
            return HTTPError(.unauthorized, description, headers: h)
        case .rateLimited(let s):
            var h = HTTPHeaders()
            h["Retry-After"] = String(s)
            return HTTPError(.tooManyRequests, description, headers: h)
        case .overloaded(let s):
            var h = HTTPHeaders()
            h["Retry-After"] = String(s)
            return HTTPError(.serviceUnavailable, description, headers: h)
        case .timedOut: return HTTPError(.serviceUnavailable, description)
        case .notReady: return HTTPError(.serviceUnavailable, description)
        case .upstreamFailed: return HTTPError(.badGateway, description)
        case .upstreamTimedOut: return HTTPError(.gatewayTimeout, description)
        }
    }

    /// Maps image and purification errors to client errors.
    static func from(_ error: ImagingError) -> ServiceError {
        switch error {
        case .unsupportedFormat: return .unsupportedMediaType(error.description)
        case .tooLarge: return .unprocessable(error.description)
        default: return .badRequest(error.description)
        }
    }

    static func from(_ error: PurificationError) -> ServiceError {
        switch error {
        case .invalidOption, .shapeMismatch: return .badRequest(error.description)
        case .unavailable: return .badRequest(error.description)
        case .codec: return .internalError(error.description)
        case .stopped(.cancelled): return .timedOut(error.description)
        case .stopped(.overBudget(let seconds)):
            return .timedOut("the request ran longer than the running-time budget of \(seconds) s (batching.maxRunSeconds)")
        }
    }

    static func from(_ error: CertificationError) -> ServiceError {
        switch error {
        case .invalidParameter: return .badRequest(error.description)
        case .purification(let e): return from(e)
        case .baseClassifier(let m): return .upstreamFailed(m)
        case .io(let m): return .internalError(m)
        }
    }
}
