import Engine

/// A chain of layers. Forward returns the caches of every layer, so one model object can run
/// many forward/backward passes at once (the server's concurrent requests, parallel attacks).
public final class Sequential: Sendable {
    public let layers: [any Layer]
    /// Shape of one input item (no batch dimension), e.g. `[28, 28, 1]`.
    public let inputShape: [Int]
    public let outputShape: [Int]

    /// Builds the chain and checks that the shapes line up.
    public init(inputShape: [Int], layers: [any Layer]) throws(NeuralNetError) {
        var shape = inputShape
        for (i, layer) in layers.enumerated() {
            do {
                shape = try layer.outputShape(for: shape)
            } catch {
                throw .invalidSpec("layer \(i) (\(layer.spec.typeName)): \(error)")
            }
        }
        self.layers = layers
        self.inputShape = inputShape
        self.outputShape = shape
    }

    /// Builds layers from specs with fresh parameters named `prefix.<index>.<name>`.
    public convenience init(inputShape: [Int], specs: [LayerSpec], prefix: String, seed: UInt64) throws(NeuralNetError) {
        var rng = RandomSource(seed: seed)
        let layers = specs.enumerated().map { i, spec in spec.makeLayer(prefix: "\(prefix).\(i)", rng: &rng) }
        try self.init(inputShape: inputShape, layers: layers)
    }

    public var specs: [LayerSpec] { layers.map(\.spec) }
    public var parameters: [Parameter] { layers.flatMap(\.parameters) }
    public var buffers: [Parameter] { layers.flatMap(\.buffers) }

    public func forward(_ x: Tensor, context: inout ForwardContext) -> (output: Tensor, caches: [LayerCache]) {
        var h = x
        var caches: [LayerCache] = []
        caches.reserveCapacity(layers.count)
        var i = 0
        while i < layers.count {
            // A convolution followed by ReLU or sigmoid runs as one layer (bias and activation
            // applied to each GEMM block in cache). At inference without caches a batch norm
            // before the activation (a fixed per-channel affine map then) and a max pooling after
            // it join too. The caches are those of the separate layers.
            if let conv = layers[i] as? any ActivationFusing {
                let inference = !context.training && !context.recordsCache
                var next = i + 1
                var epilogue = ConvEpilogue()
                if inference, next < layers.count, let norm = layers[next] as? BatchNorm {
                    epilogue.affine = norm.inferenceAffine
                    next += 1
                }
                let activation = next < layers.count ? layers[next] as? any FusableActivation : nil
                if let activation {
                    epilogue.activation = activation.fused
                    next += 1
                }
                if inference, next < layers.count, layers[next] is MaxPool2, conv.canPool(inputShape: h.shape) {
                    epilogue.pool = true
                    next += 1
                }
                if next > i + 1 {
                    let (y, cache) = conv.forward(h, fusing: epilogue, context: &context)
                    caches.append(cache)
                    if epilogue.affine != nil { caches.append(.empty) }
                    // Not pooled here: pooling is only fused without caches.
                    if let activation { caches.append(activation.cache(forOutput: y, context: context)) }
                    if epilogue.pool { caches.append(.empty) }
                    h = y
                    i = next
                    continue
                }
            }
            let (y, cache) = layers[i].forward(h, context: &context)
            caches.append(cache)
            h = y
            i += 1
        }
        return (h, caches)
    }

    /// Inference without caches.
    public func callAsFunction(_ x: Tensor, context: inout ForwardContext) -> Tensor {
        var c = context
        c.recordsCache = false
        defer { context.rng = c.rng }
        return forward(x, context: &c).output
    }

    /// Backpropagates `gradOutput`; returns the input gradient.
    public func backward(_ gradOutput: Tensor, caches: [LayerCache], gradients: GradientStore?) -> Tensor {
        var g = gradOutput
        for (layer, cache) in zip(layers, caches).reversed() {
            g = layer.backward(g, cache: cache, gradients: gradients)
        }
        return g
    }
}
