import Engine

/// 2-D convolution, stride 1, "same" zero padding, odd kernel size.
///
/// `y[n, i, j, f] = b[f] + Σ_{ky,kx,c} x[n, i+ky-p, j+kx-p, c] · W[ky, kx, c, f]`, p = (k-1)/2.
/// Shapes: input `[N, H, W, C]`, output `[N, H, W, F]`, weight `[k, k, C, F]` (HWIO, as Keras),
/// bias `[F]`. Lowered to im2col + one sgemm per block of output pixels.
public final class Conv2D: Layer, ActivationFusing {
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
            shape: [kernel, kernel, inChannels, outChannels],
            fanIn: kernel * kernel * inChannels, fanOut: kernel * kernel * outChannels, rng: &rng))
        bias = Parameter(name: "\(name).bias", value: Tensor(shape: [outChannels]))
    }

    public var parameters: [Parameter] { [weight, bias] }
    public var spec: LayerSpec { .conv2d(inChannels: inChannels, outChannels: outChannels, kernel: kernel) }

    public func outputShape(for s: [Int]) throws(NeuralNetError) -> [Int] {
        guard s.count == 3, s[2] == inChannels else {
            throw .shapeMismatch(what: "conv2d input", expected: [-1, -1, inChannels], got: s)
        }
        return [s[0], s[1], outChannels]
    }

    var weightMatrix: Tensor { weight.value.reshaped([kernel * kernel * inChannels, outChannels]) }

    public func forward(_ x: Tensor, context: inout ForwardContext) -> (output: Tensor, cache: LayerCache) {
        (convolve(x, epilogue: ConvEpilogue()), context.recordsCache ? LayerCache([x]) : .empty)
    }

    func forward(_ x: Tensor, fusing epilogue: ConvEpilogue, context: inout ForwardContext)
        -> (output: Tensor, cache: LayerCache) {
        (convolve(x, epilogue: epilogue), context.recordsCache ? LayerCache([x]) : .empty)
    }

    /// The convolution followed by `Subsample2` as one stride-2 convolution (padding (k−1)/2):
    /// only the kept pixels are computed, a quarter of the work. The cache records the stride
    /// for `backward`, whose `dy` is then the subsampled gradient (`Subsample2` passes it through
    /// when its cache is `Subsample2.fusedCache`).
    func forward(_ x: Tensor, stride: Int, context: inout ForwardContext) -> (output: Tensor, cache: LayerCache) {
        guard stride > 1 else { return forward(x, context: &context) }
        let y = ConvKernels.forward(x, weight: weightMatrix, bias: bias.value, kernel: kernel, outChannels: outChannels,
                                    stride: stride)
        return (y, context.recordsCache ? LayerCache([x], indices: [Int32(stride)]) : .empty)
    }

    /// In the im2col form (C ≤ F), whose blocks can be whole pairs of image rows.
    func canPool(inputShape s: [Int]) -> Bool {
        !ConvKernels.prefersScatter(inChannels: inChannels, outChannels: outChannels) && s.count == 4 && s[1] % 2 == 0
    }

    /// In the form that moves less data (`ConvKernels.prefersScatter`): im2col for C ≤ F, the
    /// col2im form with the flipped kernel for C > F (a 64→32 layer builds a 288-wide column
    /// block instead of a 576-wide one). Both compute the same sums in another order.
    func convolve(_ x: Tensor, epilogue: ConvEpilogue) -> Tensor {
        if ConvKernels.prefersScatter(inChannels: inChannels, outChannels: outChannels) {
            return ConvKernels.scatter(x, weight: ConvKernels.flipped(weightMatrix, kernel: kernel), bias: bias.value,
                                       epilogue: epilogue, kernel: kernel, outChannels: outChannels)
        }
        return ConvKernels.forward(x, weight: weightMatrix, bias: bias.value, epilogue: epilogue,
                                   kernel: kernel, outChannels: outChannels)
    }

    public func backward(_ dy: Tensor, cache: LayerCache, gradients: GradientStore?) -> Tensor {
        let x = cache.tensors[0]
        let stride = Int(cache.indices.first ?? 1)
        if let gradients {
            gradients.accumulate(ConvKernels.backwardWeight(x, dy, kernel: kernel, stride: stride).reshaped(weight.shape),
                                 for: weight)
            gradients.accumulate(dy.sumOverChannels(), for: bias)
        }
        return ConvKernels.backwardData(dy, weight: weightMatrix, kernel: kernel, inChannels: inChannels, stride: stride,
                                        inputSize: (x.shape[1], x.shape[2]))
    }
}
