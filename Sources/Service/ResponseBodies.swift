import Foundation
import NeuralNet
import Purification

/// JSON bodies of the v1 API (snake_case on the wire, see docs/openapi.yaml).
struct Prediction: Codable, Sendable {
    var index: Int
    var label: String
    var confidence: Float
}

struct ImageResult: Codable, Sendable {
    var filename: String?
    var width: Int
    var height: Int
    var predictions: [Prediction]
    var reconstructionError: Float
    var suspectedAdversarial: Bool
    /// With `certify=true`: the smoothed classifier's certified label and L2 radius.
    var certificate: CertificateBody?
}

struct ModelInfo: Codable, Sendable {
    var name: String
    var version: String
}

struct PurifierInfo: Codable, Sendable {
    var name: String
    var settings: [String: String]
}

struct Timings: Codable, Sendable {
    var decodeMs: Double
    var queueMs: Double
    var purifyMs: Double
    var classifyMs: Double
    var totalMs: Double
}

struct ClassifyResponse: Codable, Sendable {
    var requestId: String
    var model: ModelInfo
    var purifier: PurifierInfo
    /// First image's fields, mirrored for single-image requests.
    var predictions: [Prediction]?
    var reconstructionError: Float?
    var suspectedAdversarial: Bool?
    var certificate: CertificateBody?
    var threshold: Float
    var results: [ImageResult]
    var timings: Timings
}

struct ModelListing: Codable, Sendable {
    struct Entry: Codable, Sendable {
        var name: String
        var version: String
        var labels: [String]
        var inputShape: [Int]
        var layout: String
        var purifiers: [String]
        var defaultPurifier: String
        var threshold: Float
        var vae: String?
        var patchVae: String?
        /// Measured robustness of the classifier (empty when none was measured).
        var robustness: [RobustnessClaim]
        /// Measured certified accuracy under randomized smoothing (empty when none was measured).
        var certification: [CertificationClaim]
    }
    /// A model served by forwarding purified images to its upstream classifier.
    struct UpstreamEntry: Codable, Sendable {
        var name: String
        var purifierModel: String
        /// The purifier model's purifiers; empty while it is not loaded.
        var purifiers: [String]
        var defaultPurifier: String
        var threshold: Float?
        var contentType: String
    }
    var defaultModel: String
    var models: [Entry]
    var upstreamModels: [UpstreamEntry]
}

/// Reply of `POST /v1/attack` (snake_case on the wire).
struct AttackResponse: Codable, Sendable {
    /// One of the three images with what the service says about it.
    struct Panel: Codable, Sendable {
        /// Base64 PNG at the model's input resolution.
        var image: String
        var predictions: [Prediction]
        /// Mean squared difference between this image and its purification.
        var reconstructionError: Float
        var suspectedAdversarial: Bool
    }

    struct AttackInfo: Codable, Sendable {
        var name: String
        var eps: Float
        var steps: Int
        /// Measured distortion of the (8-bit) adversarial image, pixel units.
        var linf: Float
        var l2: Float
        /// Class the attack pushed away from: the bare classifier's prediction on the original.
        var label: Int
        /// Whether the bare classifier's top-1 changed.
        var fooled: Bool
        /// Whether the purified image's top-1 is the original's top-1 again.
        var recovered: Bool
        var threat: String
    }

    struct AttackTimings: Codable, Sendable {
        var decodeMs: Double
        var queueMs: Double
        var attackMs: Double
        var defenseMs: Double
        var totalMs: Double
    }

    var requestId: String
    var model: ModelInfo
    var purifier: PurifierInfo
    var threshold: Float
    var attack: AttackInfo
    var original: Panel
    var adversarial: Panel
    var purified: Panel
    var timings: AttackTimings
}

extension JSONEncoder {
    /// The encoder for every reply: snake_case keys, sorted for stable output.
    static let api: JSONEncoder = {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.outputFormatting = [.sortedKeys]
        return e
    }()
}

extension DefendedModel.Result {
    func predictions(labels: [String], topK: Int) -> [Prediction] {
        probabilities.enumerated()
            .sorted { $0.element > $1.element }
            .prefix(topK)
            .map { Prediction(index: $0.offset, label: $0.offset < labels.count ? labels[$0.offset] : String($0.offset), confidence: $0.element) }
    }
}
