import Engine

/// Transposed 2-D convolution, stride 1, "same" padding: the adjoint of `Conv2D`.
///
/// `y = col2im(x · Wᵀ) + b` with weight `[k, k, F_out, C_in]` (Keras's Conv2DTranspose layout),
/// input `[N, H, W, C_in]`, output `[N, H, W, F_out]`. Forward is a convolution with the
/// flipped kernel and backward is Conv2D's forward, so both reuse `ConvKernels`.
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

    /// The same operator as an ordinary convolution: with stride 1 and "same" padding,
    /// `y[q] = Σ_d x[q−d]·W[d]` equals `Σ_d x[q+d]·V[d]` for `V[d] = W[−d]` (the kernel
    /// flipped in both spatial axes) with the channel axes swapped: `[k·k·C_in, F_out]`.
    var flippedConvMatrix: Tensor {
        let (k, f, c) = (kernel, outChannels, inChannels)
        let w = weight.value.storage
        let v = [Float](unsafeUninitializedCapacity: k * k * c * f) { out, initialized in
            for i in 0..<k {
                for j in 0..<k {
                    let src = ((k - 1 - i) * k + (k - 1 - j)) * f * c   // W[k-1-i, k-1-j, :, :] is [F_out, C_in]
                    let dst = (i * k + j) * c * f                       // V[i, j, :, :] is [C_in, F_out]
                    for ci in 0..<c { for fo in 0..<f { out[dst + ci * f + fo] = w[src + fo * c + ci] } }
                }
            }
            initialized = k * k * c * f
        }
        return Tensor(shape: [k * k * c, f], storage: v)
    }

    /// Runs as `im2col(x) · V` rather than `col2im(x · Wᵀ)`: the same FLOPs, but the GEMM's
    /// inner dimension is `k·k·C_in` instead of `C_in` and its output `F_out` columns instead
    /// of `k·k·F_out`, so sgemm runs near its peak and no col2im pass is needed (the old form
    /// spent a third of patch purification in sgemm's output pass and col2im).
    public func forward(_ x: Tensor, context: inout ForwardContext) -> (output: Tensor, cache: LayerCache) {
        let y = ConvKernels.forward(x, weight: flippedConvMatrix, bias: bias.value, kernel: kernel, outChannels: outChannels)
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
