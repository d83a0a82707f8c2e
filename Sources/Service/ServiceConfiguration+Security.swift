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

// MARK: - Environment variable names

extension ServiceConfiguration {
    /// Every `VAEGUARD_*` name `applyEnvironment` reads: one per key, the short aliases, the file.
    static var environmentNames: [String] {
        environmentVariables.map(\.name) + shortNames.keys.sorted() + [configFileVariable]
    }

    /// Refuses a `VAEGUARD_*` variable within two edits of one the service reads
    /// (`VAEGUARD_API_KEY` for `VAEGUARD_API_KEYS`): like a config-file typo, it would
    /// otherwise leave the setting, authentication included, at its default. Other
    /// `VAEGUARD_*` names (scripts', benchmarks', `VAEGUARD_DATASETS`) are not the service's
    /// business and pass.
    static func checkEnvironmentNames(_ env: [String: String]) throws(ServiceError) {
        let names = environmentNames
        let known = Set(names)
        for name in env.keys.sorted() where name.hasPrefix("VAEGUARD_") && !known.contains(name) {
            if let near = names.first(where: { KnownKeysDecoder.UnknownKey.distance($0, name) <= 2 }) {
                throw .configuration("environment variable \(name) is not read by VAEGuard; did you mean \(near)?")
            }
        }
    }
}
