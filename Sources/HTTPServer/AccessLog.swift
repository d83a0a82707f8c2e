import Logging

// MARK: - Access log

extension HTTPServer {

    /// One line per response: method, path (without query, which may carry tokens),
    /// status, body bytes, duration, request id and peer. Never bodies, never header
    /// values, so `Authorization` and `X-API-Key` cannot leak into logs.
    func logAccess(request: HTTPRequest, status: Int, bytes: Int, started: UInt64, remote: String) {
        logAccess(method: request.method.rawValue, path: request.path, status: status, bytes: bytes,
                  started: started, requestID: request.requestID, remote: remote)
    }

    func logAccess(method: String, path: String, status: Int, bytes: Int, started: UInt64,
                   requestID: String, remote: String) {
        let level = configuration.accessLogLevel
        guard logger.logLevel <= level else { return }
        let elapsed = Double(Connection.now() &- started) / 1_000_000
        let durationMS = (elapsed * 1000).rounded() / 1000
        logger.log(level: level, "\(method) \(path) \(status)", metadata: [
            "method": "\(method)",
            "path": "\(path)",
            "status": "\(status)",
            "bytes": "\(bytes)",
            "duration_ms": "\(durationMS)",
            "request_id": "\(requestID)",
            "remote": "\(remote)",
        ])
    }
}
