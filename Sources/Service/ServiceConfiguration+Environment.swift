import Foundation

/// `VAEGUARD_*` environment variables: every configuration key, by one naming rule.
///
/// The variable for a key is `VAEGUARD_` and the key's path with each camelCase word in
/// capitals, joined by `_`: `server.maxBodyBytes` → `VAEGUARD_SERVER_MAX_BODY_BYTES`,
/// `upstream.timeoutSeconds` → `VAEGUARD_UPSTREAM_TIMEOUT_SECONDS`. The keys come from the
/// configuration types (`ConfigurationKeys`), so a new key gets its variable by itself.
/// Values: strings as they are; numbers and booleans as JSON scalars; lists of strings as
/// JSON or comma-separated (`VAEGUARD_AUTH_API_KEYS=a,b`); other lists and maps
/// (`VAEGUARD_MODELS_ENTRIES`) as JSON. The short names from before stay as aliases
/// (`shortNames`); the long name wins when both are set. `VAEGUARD_CONFIG` names the file.
extension ServiceConfiguration {
    /// Every variable and the key it sets, in the configuration's order.
    public static var environmentVariables: [(name: String, key: String)] {
        ConfigurationKeys.leaves(of: ServiceConfiguration.self).map { (environmentName($0.path), $0.path.joined(separator: ".")) }
    }

    /// The configuration file's variable (the file `vaeguard serve` reads without `--config`).
    public static let configFileVariable = "VAEGUARD_CONFIG"

    /// Aliases kept from before every key had a variable.
    static let shortNames: [String: String] = [
        "VAEGUARD_HOST": "VAEGUARD_SERVER_HOST", "VAEGUARD_PORT": "VAEGUARD_SERVER_PORT",
        "VAEGUARD_MODELS": "VAEGUARD_MODELS_DIRECTORY", "VAEGUARD_DEFAULT_MODEL": "VAEGUARD_MODELS_DEFAULT_MODEL",
        "VAEGUARD_API_KEYS": "VAEGUARD_AUTH_API_KEYS", "VAEGUARD_LOG_LEVEL": "VAEGUARD_LOGGING_LEVEL",
        "VAEGUARD_LOG_FORMAT": "VAEGUARD_LOGGING_FORMAT",
    ]

    /// `["server", "maxBodyBytes"]` → `VAEGUARD_SERVER_MAX_BODY_BYTES`.
    static func environmentName(_ path: [String]) -> String {
        "VAEGUARD_" + path.map { key in
            var out = ""
            var previous: Character?
            for c in key {
                if c.isUppercase, let p = previous, p.isLowercase || p.isNumber { out += "_" }
                out += c.uppercased()
                previous = c
            }
            return out
        }.joined(separator: "_")
    }

    /// Applies the `VAEGUARD_*` variables over this configuration; a value of the wrong type
    /// is a configuration error naming the variable.
    public mutating func applyEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws(ServiceError) {
        try Self.checkEnvironmentNames(env)
        var values = env.filter { !$0.value.isEmpty }
        for (short, long) in Self.shortNames where values[long] == nil {
            if let v = values[short] { values[long] = v }
        }
        var override: [String: Any] = [:]
        for leaf in ConfigurationKeys.leaves(of: ServiceConfiguration.self) {
            let name = Self.environmentName(leaf.path)
            guard let raw = values[name] else { continue }
            let value = try Self.jsonValue(raw, kind: leaf.kind, variable: name)
            override = Self.setting(override, leaf.path, value)
        }
        guard !override.isEmpty else { return }
        do {
            let current = try JSONSerialization.jsonObject(with: JSONEncoder().encode(self)) as? [String: Any] ?? [:]
            let merged = Self.merge(current, override)
            self = try Self.decode(try JSONSerialization.data(withJSONObject: merged), source: "environment (VAEGUARD_*)")
        } catch let e as ServiceError {
            throw e
        } catch {
            throw .configuration("environment (VAEGUARD_*): \(error)")
        }
    }

    static func jsonValue(_ raw: String, kind: ConfigurationKeys.Leaf.Kind, variable: String) throws(ServiceError) -> Any {
        func json() throws(ServiceError) -> Any {
            guard let v = try? JSONSerialization.jsonObject(with: Data(raw.utf8), options: [.fragmentsAllowed]) else {
                throw .configuration("\(variable)='\(raw)' is not valid JSON")
            }
            return v
        }
        switch kind {
        case .string: return raw
        case .number:
            guard let n = Double(raw.trimmingCharacters(in: .whitespaces)) else { throw .configuration("\(variable)='\(raw)' is not a number") }
            return n.rounded() == n && abs(n) < 1e15 ? Int(n) as Any : n as Any
        case .bool:
            switch raw.lowercased() {
            case "true", "1", "yes": return true
            case "false", "0", "no": return false
            default: throw .configuration("\(variable)='\(raw)' is not a boolean (true or false)")
            }
        case .stringList:
            if raw.trimmingCharacters(in: .whitespaces).hasPrefix("[") { return try json() }
            let items = raw.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            // Set but listing nothing is a mistake (VAEGUARD_AUTH_API_KEYS=" , " must not turn
            // authentication off), not a request for an empty list.
            guard !items.isEmpty else { throw .configuration("\(variable) is set but lists no value; unset it instead") }
            return items
        case .json: return try json()
        }
    }

    private static func setting(_ object: [String: Any], _ path: [String], _ value: Any) -> [String: Any] {
        var out = object
        guard let first = path.first else { return out }
        out[first] = path.count == 1 ? value : setting(object[first] as? [String: Any] ?? [:], Array(path.dropFirst()), value)
        return out
    }
}
