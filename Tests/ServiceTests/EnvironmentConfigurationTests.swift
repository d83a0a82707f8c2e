import Testing
import Foundation
@testable import Service

/// Every configuration key is settable by a `VAEGUARD_*` variable named by one rule, derived
/// from the configuration types (issue 17, defect 8), and config/README.md lists them all.
@Suite("Configuration from the environment")
struct EnvironmentConfigurationTests {
    @Test func everyKeyHasAVariable_includingOptionalOnes() {
        let keys = Set(ServiceConfiguration.environmentVariables.map(\.key))
        for key in ["server.host", "server.port", "server.maxBodyBytes", "server.tlsCertificate", "models.directory",
                    "models.defaultModel", "models.entries", "purification.defaultPurifier", "purification.patchStride",
                    "purification.enforce", "batching.workers", "auth.apiKeys", "auth.rateLimitPerSecond",
                    "upstream.url", "upstream.timeoutSeconds", "upstream.purifier", "logging.format"] {
            #expect(keys.contains(key), "\(key) has no variable")
        }
        let names = ServiceConfiguration.environmentVariables.map(\.name)
        #expect(Set(names).count == names.count, "two keys share a variable")
        #expect(ServiceConfiguration.environmentName(["server", "maxBodyBytes"]) == "VAEGUARD_SERVER_MAX_BODY_BYTES")
        #expect(ServiceConfiguration.environmentName(["upstream", "url"]) == "VAEGUARD_UPSTREAM_URL")
    }

    @Test func variables_setNestedKeysOfEveryType() throws {
        var c = ServiceConfiguration()
        try c.applyEnvironment([
            "VAEGUARD_SERVER_MAX_BODY_BYTES": "1024", "VAEGUARD_BATCHING_MAX_WAIT_MILLISECONDS": "0.5",
            "VAEGUARD_PURIFICATION_ENFORCE": "true", "VAEGUARD_PURIFICATION_DEFAULT_PURIFIER": "jpeg",
            "VAEGUARD_AUTH_API_KEYS": "k1, k2", "VAEGUARD_UPSTREAM_URL": "http://127.0.0.1:9/x",
            "VAEGUARD_UPSTREAM_TIMEOUT_SECONDS": "2.5", "VAEGUARD_SERVER_TLS_CERTIFICATE": "/c.pem",
            "VAEGUARD_MODELS_ENTRIES": #"[{"name": "m", "classifier": "c", "threshold": 0.5}]"#,
            "VAEGUARD_MODELS_DEFAULT_MODEL": "m",
        ])
        #expect(c.server.maxBodyBytes == 1024 && c.batching.maxWaitMilliseconds == 0.5)
        #expect(c.purification.enforce && c.purification.defaultPurifier == .jpeg)
        #expect(c.auth.apiKeys == ["k1", "k2"])
        #expect(c.upstream?.url == "http://127.0.0.1:9/x" && c.upstream?.timeoutSeconds == 2.5)
        #expect(c.server.tlsCertificate == "/c.pem")
        #expect(c.models.entries.map(\.name) == ["m"] && c.models.defaultModel == "m")
        #expect(c.server.port == 8080)   // untouched keys keep their value
    }

    @Test func shortNames_stillWork_andLongNamesWin() throws {
        var c = ServiceConfiguration()
        try c.applyEnvironment(["VAEGUARD_PORT": "9100", "VAEGUARD_API_KEYS": "a, b", "VAEGUARD_LOG_LEVEL": "debug",
                                "VAEGUARD_HOST": "127.0.0.1", "VAEGUARD_SERVER_HOST": "::1"])
        #expect(c.server.port == 9100 && c.auth.apiKeys == ["a", "b"] && c.logging.level == "debug")
        #expect(c.server.host == "::1")
    }

    @Test(arguments: [("VAEGUARD_SERVER_PORT", "eighty"), ("VAEGUARD_PURIFICATION_ENFORCE", "maybe"),
                      ("VAEGUARD_MODELS_ENTRIES", "[{"), ("VAEGUARD_PURIFICATION_DEFAULT_PURIFIER", "magic")])
    func badValues_areConfigurationErrors(name: String, value: String) {
        var c = ServiceConfiguration()
        #expect(throws: ServiceError.self) { try c.applyEnvironment([name: value]) }
    }

    /// config/README.md's table is exactly the variables the types give.
    @Test func readme_listsEveryVariable() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("config/README.md"), encoding: .utf8)
        let documented = readme.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("| `VAEGUARD_") else { return nil }
            return String(line.split(separator: "`")[1])
        }
        let expected = ServiceConfiguration.environmentVariables
        #expect(Set(documented).isSuperset(of: expected.map(\.name)),
                Comment(rawValue: "config/README.md should list:\n" + expected.map { "| `\($0.name)` | `\($0.key)` |" }.joined(separator: "\n")))
    }
}
