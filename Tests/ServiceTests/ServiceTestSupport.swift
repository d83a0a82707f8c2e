import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Engine
import NeuralNet
import Imaging
import Purification
@testable import Service

/// A running service on 127.0.0.1:0 with tiny deterministic models (no model files needed).
struct TestService {
    let service: InferenceService
    var base: String { "http://127.0.0.1:\(service.port)" }

    /// Gray 8×8 model "toy" (identity VAEs, random linear classifier) and RGB 8×8 "toyrgb".
    static func models() throws -> [DefendedModel] {
        func make(_ name: String, channels c: Int) throws -> DefendedModel {
            var rng = RandomSource(seed: 4)
            let classifier = try Sequential(inputShape: [8, 8, c], layers: [
                Flatten(), Dense(inFeatures: 64 * c, outFeatures: 3, name: "c", rng: &rng)])
            return DefendedModel(name: name, version: "1.0.0", labels: ["zero", "one", "two"], classifier: classifier,
                                 vae: try identityVAE(patch: 8, channels: c), patchVAE: try identityVAE(patch: 4, channels: c),
                                 threshold: 0.01)
        }
        return [try make("toy", channels: 1), try make("toyrgb", channels: 3)]
    }

    static func identityVAE(patch p: Int, channels c: Int) throws -> VariationalAutoencoder {
        var rng = RandomSource(seed: 1)
        let d = p * p * c
        let mean = Dense(inFeatures: d, outFeatures: d, name: "mu", rng: &rng)
        mean.weight.value = Tensor(shape: [d, d], storage: (0..<(d * d)).map { $0 / d == $0 % d ? 1 : 0 })
        let logVar = Dense(inFeatures: d, outFeatures: d, name: "lv", rng: &rng)
        logVar.weight.value = Tensor(shape: [d, d])
        logVar.bias.value = Tensor(shape: [d], repeating: -60)
        return try VariationalAutoencoder(
            encoder: Sequential(inputShape: [p, p, c], layers: [Flatten()]), meanHead: mean, logVarianceHead: logVar,
            decoder: Sequential(inputShape: [d], layers: [Reshape([p, p, c])]))
    }

    static func configuration() -> ServiceConfiguration {
        var cfg = ServiceConfiguration()
        cfg.server.host = "127.0.0.1"
        cfg.server.port = 0
        cfg.server.shutdownGraceSeconds = 1
        cfg.models.defaultModel = "toy"
        cfg.models.entries = [.init(name: "toy", classifier: "x", threshold: 0.01), .init(name: "toyrgb", classifier: "x", threshold: 0.01)]
        cfg.logging.level = "error"
        return cfg
    }

    /// Starts a service; `ready: false` leaves the registry empty (start-up state).
    static func start(_ cfg: ServiceConfiguration = configuration(), ready: Bool = true,
                      registry given: ModelRegistry? = nil) throws -> TestService {
        let registry = given ?? ModelRegistry(configuration: cfg)
        if ready && given == nil { registry.install(try models()) }
        let service = try InferenceService(configuration: cfg, registry: registry)
        if ready { try service.start() } else { try service.server.start() }
        return TestService(service: service)
    }

    func stop() async { await service.shutdown() }

    /// Runs `body` against a started service and always shuts it down afterwards.
    static func with(_ cfg: ServiceConfiguration = configuration(), ready: Bool = true, registry: ModelRegistry? = nil,
                     _ body: (TestService) async throws -> Void) async throws {
        let s = try start(cfg, ready: ready, registry: registry)
        do { try await body(s) } catch {
            await s.stop()
            throw error
        }
        await s.stop()
    }

    // MARK: - Client

    struct Reply {
        var status: Int
        var headers: [String: String]
        var body: Data
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
        func header(_ name: String) -> String? { headers.first { $0.key.lowercased() == name.lowercased() }?.value }
    }

    func request(_ method: String, _ path: String, body: Data? = nil, headers: [String: String] = [:]) async throws -> Reply {
        var r = URLRequest(url: URL(string: base + path)!, timeoutInterval: 20)
        r.httpMethod = method
        r.httpBody = body
        for (k, v) in headers { r.setValue(v, forHTTPHeaderField: k) }
        let (data, response) = try await URLSession.shared.data(for: r)
        let http = response as! HTTPURLResponse
        var h: [String: String] = [:]
        for (k, v) in http.allHeaderFields { h["\(k)"] = "\(v)" }
        return Reply(status: http.statusCode, headers: h, body: data)
    }

    // MARK: - Images

    static func png(width: Int = 8, height: Int = 8, channels: Int = 1, seed: UInt64 = 1) throws -> Data {
        var rng = RandomSource(seed: seed)
        let pixels = (0..<(width * height * channels)).map { _ in UInt8(rng.nextInt(256)) }
        return Data(try Image(width: width, height: height, channels: channels, pixels: pixels).pngData())
    }

    static func multipart(_ files: [Data], boundary: String = "XyZ123") -> (Data, String) {
        var body = Data()
        for (i, f) in files.enumerated() {
            body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"image\"; filename=\"img\(i).png\"\r\nContent-Type: image/png\r\n\r\n".utf8))
            body.append(f)
            body.append(Data("\r\n".utf8))
        }
        body.append(Data("--\(boundary)--\r\n".utf8))
        return (body, "multipart/form-data; boundary=\(boundary)")
    }
}
