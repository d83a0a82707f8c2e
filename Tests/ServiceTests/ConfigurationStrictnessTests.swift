import Foundation
import Logging
import Testing
import HTTPServer
@testable import Service

/// Issue #16, defects 8 and 9: configuration mistakes that used to turn security off silently
/// now stop start-up with a message that names the key.
@Suite("Configuration strictness")
struct ConfigurationStrictnessTests {
    static func validationMessage(_ json: String) throws -> String? {
        let cfg = try ServiceConfiguration.decode(Data(json.utf8), source: "t.json")
        do { try cfg.validate() } catch { return error.description }
        return nil
    }

    // MARK: - Defect 8: empty keys

    @Test(arguments: [
        (#"{"auth": {"apiKeys": [""]}}"#, "auth.apiKeys[0] is empty or blank"),
        (#"{"auth": {"apiKeys": ["good-key", "   "]}}"#, "auth.apiKeys[1] is empty or blank"),
        (#"{"auth": {"apiKeys": [" padded"]}}"#, "auth.apiKeys[0] has leading or trailing whitespace"),
        (#"{"auth": {"apiKeys": ["bell\u0007"]}}"#, "auth.apiKeys[0] contains a control character"),
    ])
    func emptyBlankOrUnsendableAPIKey_inTheFile_refusesToStart(_ json: String, _ message: String) throws {
        let refused = try Self.validationMessage(json)
        #expect(refused?.contains(message) == true, "\(refused ?? "accepted")")
        #expect(refused?.contains("padded") != true && refused?.contains("bell") != true, "the key itself must not be echoed")
        var cfg = try ServiceConfiguration.decode(Data(json.utf8), source: "t.json")
        cfg.models = TestService.configuration().models
        #expect(throws: ServiceError.self) { try InferenceService(configuration: cfg) }
    }

    @Test func apiKeysEnvironmentVariable_dropsBlanks_andRefusesToListNone() throws {
        var cfg = ServiceConfiguration()
        try cfg.applyEnvironment(["VAEGUARD_API_KEYS": " a ,, b ,"])
        #expect(cfg.auth.apiKeys == ["a", "b"])
        var none = ServiceConfiguration()
        do {
            try none.applyEnvironment(["VAEGUARD_API_KEYS": " , ,"])
            Issue.record("VAEGUARD_API_KEYS=' , ,' was accepted: auth.apiKeys = \(none.auth.apiKeys)")
        } catch {
            #expect(error.description.contains("is set but lists no value"), "\(error)")
        }
    }

    /// Sibling of defect 9 in the environment: `VAEGUARD_API_KEY` (no S) left auth off.
    @Test func misspeltServiceEnvironmentVariable_isRefused_otherVAEGuardVariablesPass() throws {
        for (name, near) in [("VAEGUARD_API_KEY", "VAEGUARD_API_KEYS"), ("VAEGUARD_APIKEYS", "VAEGUARD_API_KEYS"),
                             ("VAEGUARD_MODEL", "VAEGUARD_MODELS"), ("VAEGUARD_LOGLEVEL", "VAEGUARD_LOG_LEVEL")] {
            var cfg = ServiceConfiguration()
            do {
                try cfg.applyEnvironment([name: "secret"])
                Issue.record("\(name) was accepted")
            } catch {
                #expect(error.description.hasSuffix("environment variable \(name) is not read by VAEGuard; did you mean \(near)?"), "\(error)")
            }
        }
        var cfg = ServiceConfiguration()
        try cfg.applyEnvironment(["VAEGUARD_DATASETS": "/d", "VAEGUARD_BIN": "/b", "VAEGUARD_THREADS": "2",
                                  "VAEGUARD_BLAS_SELECTED": "1", "VAEGUARD_BENCH_BLOCK_ROWS": "8", "VAEGUARD_API_KEYS": "k"])
        #expect(cfg.auth.apiKeys == ["k"])
    }

    @Test func emptyPresentedKey_neverAuthenticates_evenAgainstAnEmptyConfiguredKey() async throws {
        #expect(!APIKeyAuth.constantTimeEqual([], []))
        // Built directly, past validation: an empty configured key still turns auth on.
        let auth = APIKeyAuth(keys: [""], ratePerSecond: 0, burst: 0, metrics: ServiceMetrics())
        for header in ["X-API-Key", "Authorization"] {
            var request = HTTPRequest(method: .get, target: "/v1/models")
            request.route = "/v1/models"
            request.headers[header] = header == "Authorization" ? "Bearer " : ""
            await #expect(throws: ServiceError.self) { _ = try await auth.handle(request) { _ in .text("served") } }
        }
    }

    // MARK: - Defect 9: unknown keys at every depth

    static func refusal(_ json: String) -> String? {
        do {
            _ = try ServiceConfiguration.decode(Data(json.utf8), source: "t.json")
            return nil
        } catch { return error.description }
    }

    @Test(arguments: [
        (#"{"auth": {"apiKey": ["x"]}}"#, "unknown key 'auth.apiKey'; did you mean 'auth.apiKeys'?"),
        (#"{"auth": {"ratelimitPerSecond": 5}}"#, "unknown key 'auth.ratelimitPerSecond'; did you mean 'auth.rateLimitPerSecond'?"),
        (#"{"upstream": {"url": "http://u", "timeout": 3}}"#, "unknown key 'upstream.timeout'; did you mean 'upstream.timeoutSeconds'?"),
        (#"{"models": {"entries": [{"name": "m", "classifier": "c", "treshold": 0.1}]}}"#,
         "unknown key 'models.entries[0].treshold'; did you mean 'models.entries[0].threshold'?"),
        (#"{"models": {"entries": [{"name": "m", "upstream": {"url": "http://u", "purfier": "vae"}}]}}"#,
         "unknown key 'models.entries[0].upstream.purfier'; did you mean 'models.entries[0].upstream.purifier'?"),
        (#"{"server": {"tlsCert": "c.pem"}}"#, "unknown key 'server.tlsCert'; did you mean 'server.tlsCertificate'?"),
        (#"{"sever": {}}"#, "unknown key 'sever'; did you mean 'server'?"),
        (#"{"logging": {"levle": "debug"}}"#, "unknown key 'logging.levle'; did you mean 'logging.level'?"),
    ])
    func typoAtAnyDepth_isRefused_namingTheKeyAndTheNearestValidOne(_ json: String, _ message: String) {
        let refused = Self.refusal(json)
        #expect(refused?.contains("t.json: " + message) == true, "\(refused ?? "accepted")")
    }

    @Test func everyUnknownKey_isReported_andCommentsAreAllowedAtAnyDepth() throws {
        let refused = Self.refusal(#"{"auth": {"apiKey": ["x"], "burst": 2}, "batching": {"worker": 2}}"#) ?? ""
        for key in ["auth.apiKey", "auth.burst", "batching.worker"] { #expect(refused.contains("'\(key)'"), "\(refused)") }
        #expect(refused.contains("valid here: apiKeys, rateLimitBurst, rateLimitPerSecond"), "\(refused)")
        let commented = try ServiceConfiguration.decode(Data(#"""
            {"$schema": "vaeguard.schema.json", "_c": 1, "auth": {"_why": "x", "apiKeys": ["k"]},
             "models": {"entries": [{"_c": "x", "name": "m", "classifier": "c", "purifierThresholds": {"vae": 0.1}}], "defaultModel": "m"}}
            """#.utf8), source: "t.json")
        #expect(commented.auth.apiKeys == ["k"] && commented.models.entries[0].purifierThresholds == ["vae": 0.1])
        #expect(Self.refusal(#"{"auth": {"$schema": "x"}}"#)?.contains("unknown key 'auth.$schema'") == true, "only at the top level")
    }

    @Test func shippedConfigAndDefaults_haveNoUnknownKeys() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let shipped = try Data(contentsOf: root.appendingPathComponent("config/vaeguard.json"))
        #expect(try KnownKeysDecoder.decode(ServiceConfiguration.self, from: shipped).unknown.isEmpty)
        #expect(try KnownKeysDecoder.decode(ServiceConfiguration.self, from: JSONEncoder().encode(Self.everyObjectPresent())).unknown.isEmpty)
    }

    // MARK: - Schema and README

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A configuration with every optional object present, so decoding visits every type.
    static func everyObjectPresent() -> ServiceConfiguration {
        var cfg = ServiceConfiguration()
        cfg.upstream = .init(url: "http://u")
        cfg.models.entries[0].upstream = .init(url: "http://u")
        return cfg
    }

    /// `path → property names` for every object node of the schema with `properties`;
    /// array items are at `path[0]`. Map-like nodes (`additionalProperties` a schema) are
    /// recorded as maps.
    static func schemaObjects(_ node: [String: Any], path: String, into out: inout [String: Set<String>], maps: inout Set<String>) {
        if let properties = node["properties"] as? [String: Any] {
            out[path] = Set(properties.keys)
            for (key, child) in properties {
                guard let child = child as? [String: Any] else { continue }
                schemaObjects(child, path: path.isEmpty ? key : "\(path).\(key)", into: &out, maps: &maps)
            }
        } else if node["additionalProperties"] is [String: Any] {
            maps.insert(path)
        }
        if let items = node["items"] as? [String: Any] { schemaObjects(items, path: "\(path)[0]", into: &out, maps: &maps) }
    }

    @Test func schema_listsExactlyTheKeysTheConfigurationTypesDecode() throws {
        let schemaData = try Data(contentsOf: Self.root.appendingPathComponent("config/vaeguard.schema.json"))
        let schema = try #require(try JSONSerialization.jsonObject(with: schemaData) as? [String: Any])
        var documented: [String: Set<String>] = [:]
        var maps: Set<String> = []
        Self.schemaObjects(schema, path: "", into: &documented, maps: &maps)
        #expect(documented.count >= 9, "the schema reader found only \(documented.keys.sorted())")

        let requested = try KnownKeysDecoder.requestedKeys(ServiceConfiguration.self, from: JSONEncoder().encode(Self.everyObjectPresent()))
        var decoded: [String: Set<String>] = [:]
        for (path, keys) in requested {
            let normalised = path.replacingOccurrences(of: #"\[[0-9]+\]"#, with: "[0]", options: .regularExpression)
            decoded[normalised, default: []].formUnion(keys)
        }
        for (path, keys) in decoded.sorted(by: { $0.key < $1.key }) where !maps.contains(path) {
            guard let listed = documented[path] else {
                Issue.record("the configuration types decode an object at '\(path)' that the schema does not describe")
                continue
            }
            #expect(listed == keys, "'\(path)': schema has \(listed.subtracting(keys).sorted()) extra, lacks \(keys.subtracting(listed).sorted())")
        }
        for path in documented.keys where decoded[path] == nil {
            Issue.record("the schema describes '\(path)', which decoding never visits (add it to everyObjectPresent?)")
        }
    }

    @Test func readme_documentsEveryKeyInTheSchema_andNoOthers() throws {
        let schemaData = try Data(contentsOf: Self.root.appendingPathComponent("config/vaeguard.schema.json"))
        let schema = try #require(try JSONSerialization.jsonObject(with: schemaData) as? [String: Any])
        var documented: [String: Set<String>] = [:]
        var maps: Set<String> = []
        Self.schemaObjects(schema, path: "", into: &documented, maps: &maps)
        let readme = try String(contentsOf: Self.root.appendingPathComponent("config/README.md"), encoding: .utf8)
        for (path, keys) in documented {
            for key in keys.sorted() {
                #expect(readme.contains("`\(key)`"), "config/README.md does not mention `\(key)` (\(path.isEmpty ? "top level" : path))")
            }
        }
        // Each `## `section`` table's first column lists keys of that section only.
        for section in readme.components(separatedBy: "\n## `").dropFirst() {
            // The section ends at the next heading of any kind ("## Environment variables").
            let block = section.components(separatedBy: "\n## ")[0]
            let section = String(block.prefix { $0 != "`" })
            guard let keys = documented[section] else { continue }
            for line in block.split(separator: "\n") where line.hasPrefix("| `") {
                let first = line.split(separator: "|").first ?? ""
                for name in first.split(separator: "`").enumerated().filter({ $0.offset % 2 == 1 }).map({ String($0.element) }) {
                    #expect(keys.contains(name), "config/README.md documents `\(name)` under `\(section)`, which the schema does not have")
                }
            }
        }
    }

    // MARK: - Start-up log

    @Test func startUp_logsTheEffectiveSecuritySettings_neverTheKeys() async throws {
        let store = SecurityTests.LogStore()
        var logger = Logger(label: "test") { _ in SecurityTests.CapturingHandler(store: store) }
        logger.logLevel = .trace
        var cfg = TestService.configuration()
        cfg.auth.apiKeys = ["first-secret-key", "second-secret-key"]
        cfg.auth.rateLimitPerSecond = 5
        cfg.auth.rateLimitBurst = 10
        let registry = ModelRegistry(configuration: cfg)
        registry.install(try TestService.models())
        let service = try InferenceService(configuration: cfg, registry: registry, logger: logger)
        try service.start()
        await service.shutdown()
        let line = store.all.split(separator: "\n").first { $0.contains("security settings") }.map(String.init) ?? ""
        for fragment in ["auth=on", "api_keys=2", "rate_limit=5.0/s per key, burst 10", "tls=off", "bind=127.0.0.1:\(service.port)"] {
            #expect(line.contains(fragment), "\(fragment) missing from: \(line)")
        }
        #expect(!store.all.contains("secret-key"))
        let off = ServiceConfiguration().securitySummary(port: 8080)
        #expect(off["auth"] == "off" && off["api_keys"] == "0" && off["rate_limit"] == "off" && off["bind"] == "0.0.0.0:8080")
    }
}

