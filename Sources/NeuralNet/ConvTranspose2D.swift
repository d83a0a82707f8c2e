import Engine

/// Transposed 2-D convolution, stride 1, "same" padding: the adjoint of `Conv2D`.
///
/// `y = col2im(x · Wᵀ) + b` with weight `[k, k, F_out, C_in]` (Keras's Conv2DTranspose layout),
/// input `[N, H, W, C_in]`, output `[N, H, W, F_out]`. Forward is Conv2D's input-gradient
/// computation and backward is Conv2D's forward, so both reuse `ConvKernels`.
public final class ConvTranspose2D: Layer {
    public let inChannels: Int
    public let outChannels: Int
    public let kernel: Int
    public let weight: Parameter
    public let bias: Parameter

    public init(inChannels: Int, outChannels: Int, kernel: Int, name: String, rng: inout RandomSource) {
        precondition(kernel % 2 == 1, "same padding needs an odd kernel")
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        weight = Parameter(name: "\(name).weight", value: Initializers.glorotUniform(
            shape: [kernel, kernel, outChannels, inChannels],
            fanIn: kernel * kernel * inChannels, fanOut: kernel * kernel * outChannels, rng: &rng))
        bias = Parameter(name: "\(name).bias", value: Tensor(shape: [outChannels]))
    }

    public var parameters: [Parameter] { [weight, bias] }
    public var spec: LayerSpec { .convTranspose2d(inChannels: inChannels, outChannels: outChannels, kernel: kernel) }

    public func outputShape(for s: [Int]) throws(NeuralNetError) -> [Int] {
        guard s.count == 3, s[2] == inChannels else {
            throw .shapeMismatch(what: "conv_transpose2d input", expected: [-1, -1, inChannels], got: s)
        }
        return [s[0], s[1], outChannels]
    }

    /// The weight as the `[k·k·F_out, C_in]` matrix of the equivalent Conv2D.
    var weightMatrix: Tensor { weight.value.reshaped([kernel * kernel * outChannels, inChannels]) }

    public func forward(_ x: Tensor, context: inout ForwardContext) -> (output: Tensor, cache: LayerCache) {
        var y = ConvKernels.backwardData(x, weight: weightMatrix, kernel: kernel, inChannels: outChannels)
        y.addChannelBias(bias.value)
        return (y, context.recordsCache ? LayerCache([x]) : .empty)
    }

    public func backward(_ dy: Tensor, cache: LayerCache, gradients: GradientStore?) -> Tensor {
        let x = cache.tensors[0]
        if let gradients {
            // y = col2im(x Wᵀ)  ⇒  dW = im2col(dy)ᵀ · x, which is Conv2D's weight gradient with roles swapped.
            gradients.accumulate(ConvKernels.backwardWeight(dy, x, kernel: kernel).reshaped(weight.shape), for: weight)
            gradients.accumulate(dy.sumOverChannels(), for: bias)
        }
        return ConvKernels.forward(dy, weight: weightMatrix, bias: nil, kernel: kernel, outChannels: inChannels)
    }
}
