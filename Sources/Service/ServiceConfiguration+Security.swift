import Logging

extension ServiceConfiguration {
    /// The effective security settings, logged once at start-up so an operator sees at a
    /// glance that authentication is really on (a config typo once turned it off silently,
    /// issue #16). Counts and switches only: the keys themselves never appear.
    /// - Parameters:
    ///   - port: the bound port (differs from `server.port` when that is 0).
    func securitySummary(port: UInt16) -> Logger.Metadata {
        [
            "auth": .string(auth.apiKeys.isEmpty ? "off" : "on"),
            "api_keys": .string("\(auth.apiKeys.count)"),
            "rate_limit": .string(auth.rateLimitPerSecond > 0
                ? "\(auth.rateLimitPerSecond)/s per key, burst \(max(1, auth.rateLimitBurst))" : "off"),
            "tls": .string(server.tlsCertificate != nil && server.tlsPrivateKey != nil ? "on" : "off"),
            "bind": .string(server.host.contains(":") ? "[\(server.host)]:\(port)" : "\(server.host):\(port)"),
            "enforce_purification": .string("\(purification.enforce)"),
        ]
    }
}
