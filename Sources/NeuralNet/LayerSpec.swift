/// The serialisable description of one layer: the `layers` array of an architecture JSON.
///
/// Encoded as `{"type": "conv2d", "in": 1, "out": 32, "kernel": 5}` and so on, so a model file
/// can be read and reviewed by people and by other tools.
public enum LayerSpec: Codable, Equatable, Sendable {
    case conv2d(inChannels: Int, outChannels: Int, kernel: Int)
    case convTranspose2d(inChannels: Int, outChannels: Int, kernel: Int)
    case dense(inFeatures: Int, outFeatures: Int)
    case relu
    case sigmoid
    case maxPool2
    case upsample2
    case batchNorm(channels: Int, momentum: Float, epsilon: Float)
    case dropout(rate: Float)
    case flatten
    case reshape([Int])
    case softmax
    /// `body(x) + shortcut(x)`; an empty shortcut is the identity.
    indirect case residual(body: [LayerSpec], shortcut: [LayerSpec])
    case globalAveragePool
    /// Every second row and column: after a "same" conv, a stride-2 conv.
    case subsample2

    private enum CodingKeys: String, CodingKey {
        case type, `in`, out, kernel, channels, momentum, epsilon, rate, shape, body, shortcut
    }

    public var typeName: String {
        switch self {
        case .conv2d: "conv2d"
        case .convTranspose2d: "conv_transpose2d"
        case .dense: "dense"
        case .relu: "relu"
        case .sigmoid: "sigmoid"
        case .maxPool2: "maxpool2"
        case .upsample2: "upsample2"
        case .batchNorm: "batchnorm"
        case .dropout: "dropout"
        case .flatten: "flatten"
        case .reshape: "reshape"
        case .softmax: "softmax"
        case .residual: "residual"
        case .globalAveragePool: "global_avgpool"
        case .subsample2: "subsample2"
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decode(String.self, forKey: .type)
        switch type {
        case "conv2d":
            self = .conv2d(inChannels: try c.decode(Int.self, forKey: .in), outChannels: try c.decode(Int.self, forKey: .out),
                           kernel: try c.decode(Int.self, forKey: .kernel))
        case "conv_transpose2d":
            self = .convTranspose2d(inChannels: try c.decode(Int.self, forKey: .in),
                                    outChannels: try c.decode(Int.self, forKey: .out),
                                    kernel: try c.decode(Int.self, forKey: .kernel))
        case "dense":
            self = .dense(inFeatures: try c.decode(Int.self, forKey: .in), outFeatures: try c.decode(Int.self, forKey: .out))
        case "relu": self = .relu
        case "sigmoid": self = .sigmoid
        case "maxpool2": self = .maxPool2
        case "upsample2": self = .upsample2
        case "batchnorm":
            self = .batchNorm(channels: try c.decode(Int.self, forKey: .channels),
                              momentum: try c.decodeIfPresent(Float.self, forKey: .momentum) ?? 0.99,
                              epsilon: try c.decodeIfPresent(Float.self, forKey: .epsilon) ?? 1e-3)
        case "dropout": self = .dropout(rate: try c.decode(Float.self, forKey: .rate))
        case "flatten": self = .flatten
        case "reshape": self = .reshape(try c.decode([Int].self, forKey: .shape))
        case "softmax": self = .softmax
        case "residual":
            self = .residual(body: try c.decode([LayerSpec].self, forKey: .body),
                             shortcut: try c.decodeIfPresent([LayerSpec].self, forKey: .shortcut) ?? [])
        case "global_avgpool": self = .globalAveragePool
        case "subsample2": self = .subsample2
        default:
            throw NeuralNetError.unknownLayer(type)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(typeName, forKey: .type)
        switch self {
        case let .conv2d(i, o, k), let .convTranspose2d(i, o, k):
            try c.encode(i, forKey: .in); try c.encode(o, forKey: .out); try c.encode(k, forKey: .kernel)
        case let .dense(i, o):
            try c.encode(i, forKey: .in); try c.encode(o, forKey: .out)
        case let .batchNorm(ch, m, e):
            try c.encode(ch, forKey: .channels); try c.encode(m, forKey: .momentum); try c.encode(e, forKey: .epsilon)
        case let .dropout(rate): try c.encode(rate, forKey: .rate)
        case let .reshape(shape): try c.encode(shape, forKey: .shape)
        case let .residual(body, shortcut):
            try c.encode(body, forKey: .body); try c.encode(shortcut, forKey: .shortcut)
        case .relu, .sigmoid, .maxPool2, .upsample2, .flatten, .softmax, .globalAveragePool, .subsample2: break
        }
    }

    /// Builds the layer, with freshly initialised parameters named `prefix.weight` etc.
    public func makeLayer(prefix: String, rng: inout RandomSource) -> any Layer {
        switch self {
        case let .conv2d(i, o, k): Conv2D(inChannels: i, outChannels: o, kernel: k, name: prefix, rng: &rng)
        case let .convTranspose2d(i, o, k): ConvTranspose2D(inChannels: i, outChannels: o, kernel: k, name: prefix, rng: &rng)
        case let .dense(i, o): Dense(inFeatures: i, outFeatures: o, name: prefix, rng: &rng)
        case .relu: ReLU()
        case .sigmoid: Sigmoid()
        case .maxPool2: MaxPool2()
        case .upsample2: UpSample2()
        case let .batchNorm(ch, m, e): BatchNorm(channels: ch, momentum: m, epsilon: e, name: prefix)
        case let .dropout(rate): Dropout(rate: rate)
        case .flatten: Flatten()
        case let .reshape(shape): Reshape(shape)
        case .softmax: Softmax()
        case let .residual(body, shortcut): Residual(body: body, shortcut: shortcut, name: prefix, rng: &rng)
        case .globalAveragePool: GlobalAveragePool()
        case .subsample2: Subsample2()
        }
    }
}

import Engine
