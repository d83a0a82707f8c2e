import Testing
import Foundation
@testable import NeuralNet

/// `certification` in a model file, in the layout scripts/record-certification.py writes
/// (camelCase keys, as every other field of the file).
@Suite("Model files: certification claims")
struct CertificationClaimTests {
    static let header = """
        "format": "vaeguard-model", "formatVersion": 1, "name": "m", "version": "1.0.0", "kind": "classifier",
        "inputShape": [28, 28, 1], "weights": "m.safetensors"
        """

    @Test func aRecordedClaim_decodes() throws {
        let json = """
            {\(Self.header), "metadata": {"noise_sigma": "0.5"},
             "certification": [{"alpha": 0.001, "abstained": 0, "certifiedAccuracy": [0.988, 0.96, 0.0],
                                "command": "vaeguard evaluate certify --dataset mnist", "denoiser": "none", "images": 500,
                                "n": 10000, "n0": 100, "radii": [0, 0.5, 2], "sigma": 0.5}]}
            """
        let arch = try JSONDecoder().decode(ModelArchitecture.self, from: Data(json.utf8))
        let claim = try #require(arch.certification?.first)
        #expect(claim == CertificationClaim(sigma: 0.5, n: 10_000, n0: 100, alpha: 0.001, denoiser: "none", images: 500,
                                            abstained: 0, radii: [0, 0.5, 2], certifiedAccuracy: [0.988, 0.96, 0],
                                            command: "vaeguard evaluate certify --dataset mnist"))
        #expect(arch.robustness == nil)
    }

    @Test func aFileWithoutClaims_decodesToNil() throws {
        let arch = try JSONDecoder().decode(ModelArchitecture.self, from: Data("{\(Self.header)}".utf8))
        #expect(arch.certification == nil)
    }

    @Test func aClaimMissingAField_isAnError() {
        let json = """
            {\(Self.header), "certification": [{"alpha": 0.001, "abstained": 0, "certifiedAccuracy": [1], "command": "c",
                                                 "denoiser": "none", "images": 1, "n": 10, "n0": 1, "sigma": 0.5}]}
            """
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(ModelArchitecture.self, from: Data(json.utf8)) }
    }

    @Test func claims_roundTripThroughTheEncoder() throws {
        var arch = try JSONDecoder().decode(ModelArchitecture.self, from: Data("{\(Self.header)}".utf8))
        arch.certification = [CertificationClaim(sigma: 0.25, n: 100, n0: 10, alpha: 0.01, denoiser: "vae", images: 20,
                                                 abstained: 3, radii: [0, 0.25], certifiedAccuracy: [0.8, 0.5], command: "c")]
        let decoded = try JSONDecoder().decode(ModelArchitecture.self, from: JSONEncoder().encode(arch))
        #expect(decoded == arch)
    }
}
