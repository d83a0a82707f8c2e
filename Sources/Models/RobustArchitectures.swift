import NeuralNet

/// Residual networks for adversarially trained CIFAR-10 classifiers, sized for a CPU: the
/// CIFAR ResNet of He et al. 2016 (depth 6n+2, widths w/2w/4w) and the pre-activation
/// ResNet-18 of Wong et al. 2020 at a reduced width. Downsampling is a "same" conv followed
/// by `subsample2` (= a stride-2 conv with padding 1); projection shortcuts are 1×1 convs.
public enum RobustArchitectures {
    static let cifarLabels = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

    static func bn(_ c: Int) -> LayerSpec { .batchNorm(channels: c, momentum: 0.9, epsilon: 1e-5) }

    /// The names `--arch` accepts, e.g. `resnet20-w16` or `preact18-w32`.
    public static func named(_ name: String) -> ModelArchitecture? {
        let parts = name.split(separator: "-w")
        guard parts.count == 2, let width = Int(parts[1]), width >= 1 else { return nil }
        switch parts[0] {
        case "preact18": return preActResNet18(width: width)
        case let p where p.hasPrefix("resnet"):
            guard let depth = Int(p.dropFirst(6)), depth >= 8, (depth - 2) % 6 == 0 else { return nil }
            return resNet(depth: depth, width: width)
        default: return nil
        }
    }

    /// He et al.'s CIFAR ResNet-(6n+2): conv-BN-ReLU, three stages of n basic blocks
    /// (conv-BN-ReLU-conv-BN + shortcut, then ReLU) with `width`, 2·`width`, 4·`width` filters,
    /// global average pooling, dense 10. Depth 20, width 16 is the original ResNet-20.
    public static func resNet(depth: Int, width: Int) -> ModelArchitecture {
        let n = (depth - 2) / 6
        var layers: [LayerSpec] = [.conv2d(inChannels: 3, outChannels: width, kernel: 3), bn(width), .relu]
        var channels = width
        for (stage, filters) in [width, 2 * width, 4 * width].enumerated() {
            for block in 0..<n {
                let down = stage > 0 && block == 0
                var body: [LayerSpec] = [.conv2d(inChannels: channels, outChannels: filters, kernel: 3)]
                if down { body.append(.subsample2) }
                body += [bn(filters), .relu, .conv2d(inChannels: filters, outChannels: filters, kernel: 3), bn(filters)]
                let shortcut: [LayerSpec] = channels == filters && !down ? []
                    : [.conv2d(inChannels: channels, outChannels: filters, kernel: 1)] + (down ? [.subsample2] : []) + [bn(filters)]
                layers += [.residual(body: body, shortcut: shortcut), .relu]
                channels = filters
            }
        }
        layers += [.globalAveragePool, .dense(inFeatures: channels, outFeatures: 10)]
        let name = "cifar10-resnet\(depth)-w\(width)"
        return ModelArchitecture(name: name, version: "1.0.0", kind: .classifier, inputShape: [32, 32, 3], labels: cifarLabels,
                                 layers: layers, weights: "\(name).safetensors")
    }

    /// Pre-activation ResNet-18 (He et al. 2016b; Wong et al. 2020's fast-AT model) with
    /// `width`, 2·, 4·, 8·`width` filters (64 is the original). A block is
    /// BN-ReLU-conv-BN-ReLU-conv + shortcut; where the shortcut is a projection it takes the
    /// pre-activated input, so that BN-ReLU sits before the block.
    public static func preActResNet18(width: Int) -> ModelArchitecture {
        var layers: [LayerSpec] = [.conv2d(inChannels: 3, outChannels: width, kernel: 3)]
        var channels = width
        for (stage, filters) in [width, 2 * width, 4 * width, 8 * width].enumerated() {
            for block in 0..<2 {
                let down = stage > 0 && block == 0
                var body: [LayerSpec] = [.conv2d(inChannels: channels, outChannels: filters, kernel: 3)]
                if down { body.append(.subsample2) }
                body += [bn(filters), .relu, .conv2d(inChannels: filters, outChannels: filters, kernel: 3)]
                if channels == filters && !down {
                    layers.append(.residual(body: [bn(channels), .relu] + body, shortcut: []))
                } else {
                    layers += [bn(channels), .relu,
                               .residual(body: body, shortcut: [.conv2d(inChannels: channels, outChannels: filters, kernel: 1)]
                                   + (down ? [.subsample2] : []))]
                }
                channels = filters
            }
        }
        layers += [bn(channels), .relu, .globalAveragePool, .dense(inFeatures: channels, outFeatures: 10)]
        let name = "cifar10-preact18-w\(width)"
        return ModelArchitecture(name: name, version: "1.0.0", kind: .classifier, inputShape: [32, 32, 3], labels: cifarLabels,
                                 layers: layers, weights: "\(name).safetensors")
    }
}
