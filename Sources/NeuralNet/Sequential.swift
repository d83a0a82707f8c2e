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

    /// The output and one cache per layer (`LayerChain`, which fuses what the engine can).
    public func forward(_ x: Tensor, context: inout ForwardContext) -> (output: Tensor, caches: [LayerCache]) {
        var caches: [LayerCache] = []
        let y = LayerChain.forward(layers, x, context: &context, caches: &caches)
        return (y, caches)
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
        LayerChain.backward(layers, caches: caches, gradOutput, gradients: gradients)
    }
}
