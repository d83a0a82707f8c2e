import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Engine
import HTTPServer
import Logging
import NeuralNet
import Imaging
import Purification
import TestSupport
@testable import Service

/// A service with tiny deterministic models (no model files needed).
///
/// Requests go in process by default: straight to the server's request handler (middleware,
/// router, handler; `HTTPServer.respondInProcess`), with no socket, no port and no HTTP
/// client, so route tests are fast and run in parallel. `sockets: true` starts the server on
/// 127.0.0.1:0 and sends requests over HTTP, for the end-to-end tests that need the wire
/// (raw bytes, curl, a browser, body-size limits enforced by the parser).
struct TestService {
    let service: InferenceService
    /// Whether the server listens and `request` goes over a socket.
    let overSockets: Bool

    /// The server's URL; only a service started with `sockets: true` has one.
    var base: String {
        precondition(overSockets, "this TestService runs in process: start it with sockets: true to reach it over HTTP")
        return "http://127.0.0.1:\(service.port)"
    }

    /// Tests log warnings and worse only: `make test` prints what matters, not access logs.
    static var logger: Logger {
        var logger = Logger(label: "vaeguard.test")
        logger.logLevel = .warning
        return logger
    }

    /// Gray 8×8 model "toy" (identity VAEs, random linear classifier) and RGB 8×8 "toyrgb".
    static func models() throws -> [DefendedModel] {
        func make(_ name: String, channels c: Int) throws -> DefendedModel {
            var rng = RandomSource(seed: 4)
            let classifier = try Sequential(inputShape: [8, 8, c], layers: [
                Flatten(), Dense(inFeatures: 64 * c, outFeatures: 3, name: "c", rng: &rng)])
            return DefendedModel(name: name, version: "1.0.0", labels: ["zero", "one", "two"], classifier: classifier,
                                 vae: try TestNetworks.identityVAE(patch: 8, channels: c), patchVAE: try TestNetworks.identityVAE(patch: 4, channels: c),
                                 threshold: 0.01)
        }
        return [try make("toy", channels: 1), try make("toyrgb", channels: 3)]
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

    /// Makes a service; `ready: false` leaves the registry empty (start-up state). With
    /// `sockets: true` the server listens on a free port.
    static func start(_ cfg: ServiceConfiguration = configuration(), ready: Bool = true,
                      registry given: ModelRegistry? = nil, sockets: Bool = false) throws -> TestService {
        let registry = given ?? ModelRegistry(configuration: cfg)
        if ready && given == nil { registry.install(try models()) }
        let service = try InferenceService(configuration: cfg, registry: registry, logger: logger)
        if sockets {
            if ready { try service.start() } else { try service.server.start() }
        }
        return TestService(service: service, overSockets: sockets)
    }

    func stop() async { await service.shutdown() }

    /// Runs `body` against a service and always shuts it down afterwards.
    static func with(_ cfg: ServiceConfiguration = configuration(), ready: Bool = true, registry: ModelRegistry? = nil,
                     sockets: Bool = false, _ body: (TestService) async throws -> Void) async throws {
        let s = try start(cfg, ready: ready, registry: registry, sockets: sockets)
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
        /// The body as untyped JSON, for checks of the wire shape itself (key names, absent keys).
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
        func header(_ name: String) -> String? { headers.first { $0.key.lowercased() == name.lowercased() }?.value }

        /// The body decoded into one of the service's response types (snake_case keys).
        func decode<T: Decodable>(_ type: T.Type = T.self) throws -> T {
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            return try decoder.decode(T.self, from: body)
        }

        /// The JSON error body every 4xx/5xx carries.
        var error: ErrorBody.Detail? { (try? decode(ErrorBody.self))?.error }
    }

    /// `{"error": {"code": …, "message": …}}`.
    struct ErrorBody: Decodable {
        struct Detail: Decodable {
            var code: Int
            var message: String
        }
        var error: Detail
    }

    func request(_ method: String, _ path: String, body: Data? = nil, headers: [String: String] = [:]) async throws -> Reply {
        guard overSockets else { return try await requestInProcess(method, path, body: body, headers: headers) }
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

    /// What a connection would hand the server for this request, answered without a socket.
    private func requestInProcess(_ method: String, _ path: String, body: Data?,
                                  headers: [String: String]) async throws -> Reply {
        var fields = HTTPHeaders(headers.map { (name: $0.key, value: $0.value) })
        if !fields.contains("Host") { fields.add(name: "Host", value: "127.0.0.1") }
        let request = HTTPRequest(method: HTTPMethod(method), target: path, headers: fields, body: body.map(Array.init) ?? [],
                                  remoteAddress: "127.0.0.1:40000")
        let response = try await service.server.respondInProcess(to: request)
        var h: [String: String] = [:]
        for field in response.headers { h[field.name] = field.value }
        return Reply(status: response.status.code, headers: h, body: Data(response.bodyBytes ?? []))
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
