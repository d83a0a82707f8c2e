import Foundation
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
            #expect(error.description.contains("VAEGUARD_API_KEYS is set but lists no key"), "\(error)")
        }
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
}
