import Foundation
import HTTPServer
import Purification

/// The service's configuration: the JSON file in `config/` (documented key by key in
/// `config/README.md`), then `VAEGUARD_*` environment variables, then command-line flags.
/// Every key is optional in the file; missing keys keep the defaults below.
public struct ServiceConfiguration: Sendable, Codable, Equatable {
    public var server = Server()
    public var models = Models()
    public var purification = Purification()
    public var batching = Batching()
    public var auth = Auth()
    public var upstream: Upstream?
    public var certification = CertificationSettings()
    public var logging = Logging()

    public init() {}

    public struct Server: Sendable, Codable, Equatable {
        public var host = "0.0.0.0"
        public var port = 8080
        public var maxBodyBytes = 20 * 1024 * 1024
        public var maxHeaderBytes = 16 * 1024
        public var headerTimeoutSeconds = 10.0
        public var bodyTimeoutSeconds = 30.0
        public var idleTimeoutSeconds = 60.0
        public var maxConnections = 1024
        /// Extra connections above `maxConnections` that may only ask for the health and
        /// readiness probes, so probes are answered while the table is full.
        public var reservedProbeConnections = 8
        /// From accept until the TLS handshake must be complete.
        public var tlsHandshakeTimeoutSeconds = 5.0
        /// Request bytes (heads and bodies) all connections may hold in memory together.
        public var maxBufferedRequestBytes = 128 * 1024 * 1024
        public var shutdownGraceSeconds = 10.0
        public var tlsCertificate: String?
        public var tlsPrivateKey: String?
    }

    /// One served model: a classifier and the purifiers that defend it (names of model files
    /// in the models directory), or a proxy to an upstream classifier.
    public struct ModelEntry: Sendable, Codable, Equatable {
        public var name: String
        public var classifier: String?
        public var vae: String?
        public var patchVAE: String?
        /// Reconstruction-error (mean squared) above which an input is flagged.
        public var threshold: Float = 0.02
        /// Thresholds for purifiers whose scores live on another scale, keyed by purifier name
        /// ("patch-vae", "jpeg", …); `threshold` for the others.
        public var purifierThresholds: [String: Float]?
        /// The purifier for requests that name none; nil = `purification.defaultPurifier`.
        public var defaultPurifier: PurifierKind?
        /// Forward purified images to this classifier instead of a built-in one.
        public var upstream: Upstream?
        /// Noise level σ of `certify=true`; nil = the classifier's model card
        /// (`noise_sigma`, set by `train classifier --noise-sigma`), else `certification.defaultSigma`.
        public var smoothingSigma: Float?

        public init(name: String, classifier: String? = nil, vae: String? = nil, patchVAE: String? = nil,
                    threshold: Float = 0.02, purifierThresholds: [String: Float]? = nil,
                    defaultPurifier: PurifierKind? = nil, upstream: Upstream? = nil, smoothingSigma: Float? = nil) {
            self.name = name
            self.classifier = classifier
            self.vae = vae
            self.patchVAE = patchVAE
            self.threshold = threshold
            self.purifierThresholds = purifierThresholds
            self.defaultPurifier = defaultPurifier
            self.upstream = upstream
            self.smoothingSigma = smoothingSigma
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            classifier = try c.decodeIfPresent(String.self, forKey: .classifier)
            vae = try c.decodeIfPresent(String.self, forKey: .vae)
            patchVAE = try c.decodeIfPresent(String.self, forKey: .patchVAE)
            threshold = try c.decodeIfPresent(Float.self, forKey: .threshold) ?? 0.02
            purifierThresholds = try c.decodeIfPresent([String: Float].self, forKey: .purifierThresholds)
            defaultPurifier = try c.decodeIfPresent(PurifierKind.self, forKey: .defaultPurifier)
            upstream = try c.decodeIfPresent(Upstream.self, forKey: .upstream)
            smoothingSigma = try c.decodeIfPresent(Float.self, forKey: .smoothingSigma)
        }
    }

    public struct Models: Sendable, Codable, Equatable {
        /// Folder with the model files; nil finds the shipped `models/` (see `ModelCatalog`).
        public var directory: String?
        public var defaultModel = "mnist"
        public var entries: [ModelEntry] = [
            // 1 % false alarms on clean MNIST training images with the sampled VAE (docs/DETECTION.md).
            ModelEntry(name: "mnist", classifier: "mnist-classifier", vae: "mnist-vae", patchVAE: "patch-vae-gray-16",
                       threshold: 0.009, purifierThresholds: ["patch-vae": 0.0039]),
            // The whole-image CIFAR-10 VAE keeps ~77 % clean accuracy after purification (the patch VAE
            // ~81 %, docs/MODELS.md), so CIFAR-10 requests use the patch VAE unless they ask otherwise.
            ModelEntry(name: "cifar10", classifier: "cifar10-classifier", vae: "cifar10-vae", patchVAE: "patch-vae-rgb-8",
                       threshold: 0.005, purifierThresholds: ["patch-vae": 0.0021], defaultPurifier: .patchVAE),
            // PGD-trained at ε = 0.3 (docs/MODELS.md): its robustness is measured without a purifier, and
            // purifying before it loses that robustness to an adaptive attacker (docs/RESULTS.md), so
            // requests get no purifier unless they ask for one. The VAEs (and thresholds) are MNIST's.
            ModelEntry(name: "mnist-robust", classifier: "mnist-robust", vae: "mnist-vae", patchVAE: "patch-vae-gray-16",
                       threshold: 0.009, purifierThresholds: ["patch-vae": 0.0039], defaultPurifier: PurifierKind.none),
            // Trained with Gaussian noise for `certify=true` (issue 18, route 1: plain randomized smoothing,
            // docs/RESULTS.md "Certified robustness"); σ comes from the model card's noise_sigma. No
            // purifier by default, as certification measured them; the VAEs and thresholds are the dataset's.
            ModelEntry(name: "mnist-certified", classifier: "mnist-certified", vae: "mnist-vae", patchVAE: "patch-vae-gray-16",
                       threshold: 0.009, purifierThresholds: ["patch-vae": 0.0039], defaultPurifier: PurifierKind.none),
            ModelEntry(name: "cifar10-certified", classifier: "cifar10-certified", vae: "cifar10-vae", patchVAE: "patch-vae-rgb-8",
                       threshold: 0.005, purifierThresholds: ["patch-vae": 0.0021], defaultPurifier: PurifierKind.none),
        ]
    }

    public struct Purification: Sendable, Codable, Equatable {
        public var defaultPurifier = PurifierKind.vae
        public var maxSamples = 16
        public var jpegQuality = 23
        /// Patch stride in pixels; nil = half the patch size.
        public var patchStride: Int?
        /// Larger images are refused from their header, before decoding (decompression bombs).
        public var maxImagePixels = 4096 * 4096
        /// Images per multipart batch request.
        public var maxBatchImages = 64
        /// Cost budget of one request in GFLOP (10⁹ operations): patches × samples × model
        /// FLOPs, computed from the image headers and options before any work starts; a
        /// request above it is refused with 422 naming the limit and its cost.
        public var maxRequestGFLOP = 1000.0
        /// Bytes of decoded pixels (and the float tensors made from them) all queued and
        /// running requests may hold together; a request that does not fit gets 503 +
        /// Retry-After, one that could never fit 422.
        public var pixelMemoryBudgetBytes = 384 * 1024 * 1024
        /// When true, clients may not switch the defense off or make it deterministic:
        /// `purifier=none`, `seed` and `sampling=mean` are refused (400). The purifier's fresh
        /// noise is part of the defense (docs/SECURITY.md), and a proxy that lets a client
        /// choose `none` does not protect the classifier behind it.
        public var enforce = false
    }

    public struct Batching: Sendable, Codable, Equatable {
        /// Requests for the same model and options purified and classified together.
        public var maxBatchSize = 32
        public var maxWaitMilliseconds = 2.0
        /// Requests waiting at most; more get 503 + Retry-After at once.
        public var queueCapacity = 256
        /// A request not started within this time is answered 503.
        public var requestTimeoutSeconds = 30.0
        /// Inference threads; nil = one per core.
        public var workers: Int?
        /// A job still running after this long stops at its next check and is answered 503.
        public var maxRunSeconds = 120.0
    }

    public struct Auth: Sendable, Codable, Equatable {
        /// Accepted API keys (also `VAEGUARD_API_KEYS`, comma-separated). Empty = no auth.
        public var apiKeys: [String] = []
        /// Requests per second per key (token bucket); 0 = unlimited.
        public var rateLimitPerSecond = 0.0
        public var rateLimitBurst = 0
    }

    public struct Upstream: Sendable, Codable, Equatable {
        public var url: String
        public var method = "POST"
        /// Body type sent upstream: "image/png", "image/jpeg", or "multipart/form-data".
        public var contentType = "image/png"
        /// Form field name when contentType is multipart.
        public var multipartField = "image"
        public var timeoutSeconds = 10.0
        /// Purifier used for proxied images (any size): patch-vae by default.
        public var purifier: PurifierKind = .patchVAE
        /// Which built-in model's purifiers to use (its channel count decides gray or RGB).
        public var purifierModel = "cifar10"
        /// `certify=true` through the proxy: the key of the upstream's JSON reply holding its label.
        public var labelField = "label"

        public init(url: String) { self.url = url }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            url = try c.decode(String.self, forKey: .url)
            method = try c.decodeIfPresent(String.self, forKey: .method) ?? "POST"
            contentType = try c.decodeIfPresent(String.self, forKey: .contentType) ?? "image/png"
            multipartField = try c.decodeIfPresent(String.self, forKey: .multipartField) ?? "image"
            timeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .timeoutSeconds) ?? 10
            purifier = try c.decodeIfPresent(PurifierKind.self, forKey: .purifier) ?? .patchVAE
            purifierModel = try c.decodeIfPresent(String.self, forKey: .purifierModel) ?? "cifar10"
            labelField = try c.decodeIfPresent(String.self, forKey: .labelField) ?? "label"
        }
    }

    /// Limits and defaults of `certify=true` (randomized smoothing, docs/API.md).
    public struct CertificationSettings: Sendable, Codable, Equatable {
        /// Noisy samples n that estimate the top class's probability, by default and at most.
        public var defaultN = 1000
        public var maxN = 10_000
        /// Noisy samples n0 that select the class.
        public var defaultN0 = 100
        public var maxN0 = 1000
        /// The certificate fails with probability at most alpha.
        public var defaultAlpha = 0.001
        public var minAlpha = 1e-9
        /// σ for models with none in their entry or model card, and the largest a request may ask for.
        public var defaultSigma: Float = 0.25
        public var maxSigma: Float = 4
        /// Noisy copies per forward pass.
        public var batchSize = 100
        /// Proxy mode: the upstream is queried n0 + n times per certificate; more is refused (400).
        public var maxUpstreamQueries = 200
        /// Concurrent upstream queries of one certificate.
        public var upstreamConcurrency = 8
    }

    public struct Logging: Sendable, Codable, Equatable {
        public var level = "info"
        /// "json" (one object per line) or "text".
        public var format = "json"
    }
}

// MARK: - Decoding with defaults

extension ServiceConfiguration {
    /// Reads a configuration file; keys missing from the file keep their defaults, and a key
    /// no configuration type knows, at any depth, is an error naming the nearest valid key.
    public static func load(path: String) throws(ServiceError) -> ServiceConfiguration {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .configuration("cannot read \(path): \(error.localizedDescription)")
        }
        return try decode(data, source: path)
    }

    static func decode(_ data: Data, source: String) throws(ServiceError) -> ServiceConfiguration {
        // Merge the file over the defaults at the JSON level, so partial files work without
        // a hand-written decoder per struct.
        do {
            let defaults = try JSONSerialization.jsonObject(with: JSONEncoder().encode(ServiceConfiguration())) as! [String: Any]
            guard let file = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw ServiceError.configuration("\(source): the top level must be a JSON object")
            }
            // Unknown keys at any depth are refused: the valid ones are those the Codable
            // types ask for while decoding (`KnownKeysDecoder`), so a typo such as
            // `auth.apiKey` cannot silently leave a feature at its default (issue #16).
            let merged = merge(defaults, file)
            let (config, unknown) = try KnownKeysDecoder.decode(ServiceConfiguration.self,
                                                                from: JSONSerialization.data(withJSONObject: merged))
            if !unknown.isEmpty {
                throw ServiceError.configuration("\(source): " + unknown.map(\.description).joined(separator: "; "))
            }
            return config
        } catch let e as ServiceError {
            throw e
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw .configuration("\(source): wrong type at \(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)")
        } catch let DecodingError.dataCorrupted(context) {
            throw .configuration("\(source): invalid value at \(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)")
        } catch {
            throw .configuration("\(source): \(error)")
        }
    }

    /// Recursive merge of JSON objects; keys starting with "_" (comments) are dropped.
    static func merge(_ base: [String: Any], _ over: [String: Any]) -> [String: Any] {
        var out = base
        for (k, v) in over where !k.hasPrefix("_") {
            if let b = base[k] as? [String: Any], let o = v as? [String: Any] {
                out[k] = merge(b, o)
            } else {
                out[k] = v
            }
        }
        return out
    }
}

// MARK: - Validation (the environment: ServiceConfiguration+Environment.swift)

extension ServiceConfiguration {
    /// Checks every value; the message names the key.
    public func validate() throws(ServiceError) {
        func check(_ ok: Bool, _ message: String) throws(ServiceError) { if !ok { throw .configuration(message) } }
        try check((0...65535).contains(server.port), "server.port must be in 0…65535, got \(server.port)")
        try check(server.maxBodyBytes > 0, "server.maxBodyBytes must be positive")
        try check(server.maxHeaderBytes >= 1024, "server.maxHeaderBytes must be at least 1024")
        try check(server.headerTimeoutSeconds > 0 && server.bodyTimeoutSeconds > 0 && server.idleTimeoutSeconds > 0,
                  "server timeouts must be positive")
        try check(server.maxConnections > 0, "server.maxConnections must be positive")
        try check(server.reservedProbeConnections >= 0, "server.reservedProbeConnections must be ≥ 0")
        try check(server.tlsHandshakeTimeoutSeconds > 0, "server.tlsHandshakeTimeoutSeconds must be positive")
        try check(server.maxBufferedRequestBytes >= server.maxBodyBytes,
                  "server.maxBufferedRequestBytes must be at least server.maxBodyBytes")
        try check((server.tlsCertificate == nil) == (server.tlsPrivateKey == nil),
                  "server.tlsCertificate and server.tlsPrivateKey must be set together")
        try check(!models.entries.isEmpty, "models.entries must list at least one model")
        try check(Set(models.entries.map(\.name)).count == models.entries.count, "models.entries has duplicate names")
        try check(models.entries.contains { $0.name == models.defaultModel },
                  "models.defaultModel '\(models.defaultModel)' is not in models.entries")
        for e in models.entries {
            try check(e.classifier != nil || e.upstream != nil, "model '\(e.name)' needs a classifier or an upstream")
            try check(e.threshold > 0, "model '\(e.name)': threshold must be positive")
            for (key, value) in e.purifierThresholds ?? [:] {
                try check(PurifierKind(rawValue: key) != nil, "model '\(e.name)': purifierThresholds key '\(key)' is not a purifier")
                try check(value > 0, "model '\(e.name)': purifierThresholds['\(key)'] must be positive")
            }
        }
        try check((1...DefenseOptions.maxSamples).contains(purification.maxSamples),
                  "purification.maxSamples must be in 1…\(DefenseOptions.maxSamples)")
        try check((1...100).contains(purification.jpegQuality), "purification.jpegQuality must be in 1…100")
        try check(purification.maxImagePixels > 0, "purification.maxImagePixels must be positive")
        try check(purification.maxBatchImages > 0, "purification.maxBatchImages must be positive")
        try check(purification.maxRequestGFLOP > 0, "purification.maxRequestGFLOP must be positive")
        try check(purification.pixelMemoryBudgetBytes > 0, "purification.pixelMemoryBudgetBytes must be positive")
        try check(batching.maxBatchSize > 0, "batching.maxBatchSize must be positive")
        try check(batching.maxWaitMilliseconds >= 0, "batching.maxWaitMilliseconds must be ≥ 0")
        try check(batching.queueCapacity > 0, "batching.queueCapacity must be positive")
        try check(batching.requestTimeoutSeconds > 0, "batching.requestTimeoutSeconds must be positive")
        try check((batching.workers ?? 1) > 0, "batching.workers must be positive")
        try check(batching.maxRunSeconds > 0, "batching.maxRunSeconds must be positive")
        for (i, key) in auth.apiKeys.enumerated() {
            // Never echo the key itself: the message goes to logs.
            try check(!key.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty,
                      "auth.apiKeys[\(i)] is empty or blank: it would let a request with an empty key in; remove it")
            try check(key == key.trimmingCharacters(in: .whitespacesAndNewlines),
                      "auth.apiKeys[\(i)] has leading or trailing whitespace, which no client can send in a header")
            try check(!key.unicodeScalars.contains { $0.properties.generalCategory == .control },
                      "auth.apiKeys[\(i)] contains a control character")
        }
        let cert = certification
        try check(cert.maxN >= 1 && (1...cert.maxN).contains(cert.defaultN), "certification.defaultN must be in 1…certification.maxN")
        try check(cert.maxN0 >= 1 && (1...cert.maxN0).contains(cert.defaultN0), "certification.defaultN0 must be in 1…certification.maxN0")
        try check(cert.minAlpha > 0 && cert.minAlpha <= cert.defaultAlpha && cert.defaultAlpha <= 0.5,
                  "certification.defaultAlpha must be in certification.minAlpha…0.5 and minAlpha positive")
        try check(cert.maxSigma > 0 && cert.defaultSigma > 0 && cert.defaultSigma <= cert.maxSigma,
                  "certification.defaultSigma must be in (0, certification.maxSigma]")
        try check(cert.batchSize > 0, "certification.batchSize must be positive")
        try check(cert.maxUpstreamQueries >= 0, "certification.maxUpstreamQueries must be ≥ 0")
        try check(cert.upstreamConcurrency > 0, "certification.upstreamConcurrency must be positive")
        for e in models.entries {
            if let s = e.smoothingSigma { try check(s > 0 && s <= cert.maxSigma, "model '\(e.name)': smoothingSigma must be in (0, certification.maxSigma]") }
        }
        try check(auth.rateLimitPerSecond >= 0, "auth.rateLimitPerSecond must be ≥ 0")
        try check(["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(logging.level),
                  "logging.level '\(logging.level)' is not a swift-log level")
        try check(["json", "text"].contains(logging.format), "logging.format must be json or text")
        for u in [upstream].compactMap({ $0 }) + models.entries.compactMap(\.upstream) {
            try check(URL(string: u.url)?.scheme.map { ["http", "https"].contains($0) } == true,
                      "upstream url '\(u.url)' must be http(s)")
            try check(["image/png", "image/jpeg", "multipart/form-data"].contains(u.contentType),
                      "upstream contentType must be image/png, image/jpeg or multipart/form-data")
            try check(u.timeoutSeconds > 0, "upstream timeoutSeconds must be positive")
        }
    }

    /// The HTTP server's settings.
    public var httpConfiguration: HTTPServer.Configuration {
        var c = HTTPServer.Configuration(host: server.host, port: UInt16(server.port))
        c.maxBodyBytes = server.maxBodyBytes
        c.maxHeaderBytes = server.maxHeaderBytes
        c.headerTimeout = .milliseconds(Int(server.headerTimeoutSeconds * 1000))
        c.bodyTimeout = .milliseconds(Int(server.bodyTimeoutSeconds * 1000))
        c.idleTimeout = .milliseconds(Int(server.idleTimeoutSeconds * 1000))
        c.maxConnections = server.maxConnections
        c.reservedProbeConnections = server.reservedProbeConnections
        c.probePaths = ["/healthz", "/readyz", "/v2/health/live", "/v2/health/ready"]
        c.tlsHandshakeTimeout = .milliseconds(Int(server.tlsHandshakeTimeoutSeconds * 1000))
        c.maxBufferedRequestBytes = server.maxBufferedRequestBytes
        c.serverName = "vaeguard"
        c.errorBody = { target, error in
            OpenInferenceErrors.isOpenInference(target: target) ? OpenInferenceErrors.body(error.message) : nil
        }
        if let cert = server.tlsCertificate, let key = server.tlsPrivateKey {
            c.tls = TLSConfiguration(certificatePath: cert, privateKeyPath: key)
        }
        return c
    }
}
