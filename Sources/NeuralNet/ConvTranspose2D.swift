import Engine

/// Transposed 2-D convolution, stride 1, "same" padding: the adjoint of `Conv2D`.
///
/// `y = col2im(x · Wᵀ) + b` with weight `[k, k, F_out, C_in]` (Keras's Conv2DTranspose layout),
/// input `[N, H, W, C_in]`, output `[N, H, W, F_out]`. Forward is a convolution with the
/// flipped kernel and backward is Conv2D's forward, so both reuse `ConvKernels`.
public final class ConvTranspose2D: Layer, ActivationFusing {
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

    /// The same operator as an ordinary convolution: with stride 1 and "same" padding,
    /// `y[q] = Σ_d x[q−d]·W[d]` equals `Σ_d x[q+d]·V[d]` for `V[d] = W[−d]` (the kernel
    /// flipped in both spatial axes) with the channel axes swapped: `[k·k·C_in, F_out]`.
    var flippedConvMatrix: Tensor { ConvKernels.flipped(weightMatrix, kernel: kernel) }

    /// Runs as `im2col(x) · V` rather than `col2im(x · Wᵀ)` where that moves less data
    /// (`F_out ≥ C_in`): the GEMM's inner dimension is then `k·k·C_in` instead of `C_in` and its
    /// output `F_out` columns instead of `k·k·F_out`, so sgemm runs near its peak and no col2im
    /// pass is needed (the col2im form spent a third of patch purification in sgemm's output
    /// pass and col2im). A narrowing layer (the patch decoder's last, 64→3) keeps the col2im
    /// form: its im2col block would be 576 floats per pixel for a 3-column GEMM.
    public func forward(_ x: Tensor, context: inout ForwardContext) -> (output: Tensor, cache: LayerCache) {
        (convolve(x, epilogue: ConvEpilogue()), context.recordsCache ? LayerCache([x]) : .empty)
    }

    func forward(_ x: Tensor, fusing epilogue: ConvEpilogue, context: inout ForwardContext)
        -> (output: Tensor, cache: LayerCache) {
        (convolve(x, epilogue: epilogue), context.recordsCache ? LayerCache([x]) : .empty)
    }

    /// No pooling after a transposed convolution in the paper's models; not implemented.
    func canPool(inputShape: [Int]) -> Bool { false }

    func convolve(_ x: Tensor, epilogue: ConvEpilogue) -> Tensor {
        if ConvKernels.prefersScatter(inChannels: inChannels, outChannels: outChannels) {
            return ConvKernels.scatter(x, weight: weightMatrix, bias: bias.value, epilogue: epilogue,
                                       kernel: kernel, outChannels: outChannels)
        }
        return ConvKernels.forward(x, weight: flippedConvMatrix, bias: bias.value, epilogue: epilogue,
                                   kernel: kernel, outChannels: outChannels)
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
