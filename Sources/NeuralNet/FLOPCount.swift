/// Floating-point operations of one forward pass, counted from the layer specs and shapes:
/// 2 per multiply-add for convolutions and dense layers, 1 per output value for everything
/// else. It prices requests before they run (the service's cost budget), so it must be
/// cheap and monotone in the work, not exact to the instruction.
extension Sequential {
    /// Operations for one input item of `inputShape`.
    public var forwardFLOPs: Double {
        var shape = inputShape
        var total = 0.0
        for layer in layers {
            guard let out = try? layer.outputShape(for: shape) else { break }
            total += Self.flops(layer.spec, input: shape, output: out)
            shape = out
        }
        return total
    }

    static func flops(_ spec: LayerSpec, input: [Int], output: [Int]) -> Double {
        let outCount = Double(output.reduce(1, *))
        switch spec {
        case let .conv2d(inChannels, _, kernel):
            return 2 * Double(kernel * kernel * inChannels) * outCount
        case let .convTranspose2d(_, outChannels, kernel):
            // Each input value is spread over k×k×outChannels outputs.
            return 2 * Double(kernel * kernel * outChannels) * Double(input.reduce(1, *))
        case let .dense(inFeatures, outFeatures):
            return 2 * Double(inFeatures * outFeatures)
        default:
            return outCount
        }
    }
}

extension VariationalAutoencoder {
    /// Operations to reconstruct one input item: encoder, both heads, sampling, decoder.
    public var forwardFLOPs: Double {
        let heads = 2 * 2 * Double(meanHead.inFeatures * meanHead.outFeatures)
        return encoder.forwardFLOPs + heads + 3 * Double(latentDimension) + decoder.forwardFLOPs
    }
}
