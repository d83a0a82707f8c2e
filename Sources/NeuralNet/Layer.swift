import Engine

/// State threaded through a forward pass: training or inference mode, and the random
/// source used by dropout and the VAE's sampling.
public struct ForwardContext: Sendable {
    public var training: Bool
    public var rng: RandomSource
    /// When false the layers skip saving what backward needs (pure inference is cheaper).
    public var recordsCache: Bool

    public init(training: Bool, rng: RandomSource = .fresh(), recordsCache: Bool? = nil) {
        self.training = training
        self.rng = rng
        self.recordsCache = recordsCache ?? training
    }

    public static func inference(seed: UInt64? = nil) -> ForwardContext {
        ForwardContext(training: false, rng: seed.map(RandomSource.init(seed:)) ?? .fresh(), recordsCache: false)
    }
}

/// What a layer saved in forward for its backward pass. Caches are values returned to the
/// caller (never stored in the layer), which is what makes concurrent forward passes safe.
public struct LayerCache: Sendable {
    public var tensors: [Tensor]
    public var indices: [Int32]
    /// The input's shape, for layers whose backward must rebuild it.
    public var shape: [Int]
    /// The caches of a composite layer's sub-layers (`Residual`).
    public var children: [LayerCache] = []

    public init(_ tensors: [Tensor] = [], indices: [Int32] = [], shape: [Int] = []) {
        self.tensors = tensors
        self.indices = indices
        self.shape = shape
    }

    public static let empty = LayerCache()
}

/// A differentiable layer. Shapes are NHWC for images, `[N, features]` for vectors.
public protocol Layer: AnyObject, Sendable {
    /// Trainable parameters, in a stable order.
    var parameters: [Parameter] { get }
    /// Non-trainable state saved with the model (BatchNorm running statistics).
    var buffers: [Parameter] { get }
    /// The serialisable description of this layer.
    var spec: LayerSpec { get }

    /// Output shape for one item (no batch dimension), or a `NeuralNetError` if the input
    /// shape does not fit.
    func outputShape(for inputShape: [Int]) throws(NeuralNetError) -> [Int]

    func forward(_ input: Tensor, context: inout ForwardContext) -> (output: Tensor, cache: LayerCache)

    /// Returns the gradient with respect to the input; adds parameter gradients to
    /// `gradients` when it is non-nil.
    func backward(_ gradOutput: Tensor, cache: LayerCache, gradients: GradientStore?) -> Tensor
}

extension Layer {
    public var buffers: [Parameter] { [] }
}
