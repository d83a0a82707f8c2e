import Engine

/// Inverted dropout: in training each element is zeroed with probability `rate` and the
/// survivors scaled by `1/(1-rate)`, so inference is the identity.
public final class Dropout: Layer {
    public let rate: Float

    public init(rate: Float) {
        precondition(rate >= 0 && rate < 1, "dropout rate must be in [0, 1)")
        self.rate = rate
    }

    public var parameters: [Parameter] { [] }
    public var spec: LayerSpec { .dropout(rate: rate) }
    public func outputShape(for s: [Int]) throws(NeuralNetError) -> [Int] { s }

    public func forward(_ x: Tensor, context: inout ForwardContext) -> (output: Tensor, cache: LayerCache) {
        guard context.training, rate > 0 else { return (x, context.recordsCache ? LayerCache() : .empty) }
        let keep = 1 - rate
        let n = x.count
        // One draw per element, in element order (a resumed training run depends on the sequence).
        let values = [Float](unsafeUninitializedCapacity: n) { m, initialized in
            for i in 0..<n { m[i] = context.rng.nextUniform() < keep ? 1 / keep : 0 }
            initialized = n
        }
        let mask = Tensor(shape: x.shape, storage: values)
        return (x.zipMap(mask, *), LayerCache([mask]))
    }

    public func backward(_ dy: Tensor, cache: LayerCache, gradients: GradientStore?) -> Tensor {
        guard let mask = cache.tensors.first else { return dy }
        return dy.zipMap(mask, *)
    }
}

/// `[N, d1, d2, …]` → `[N, d1·d2·…]`; free (the storage is already contiguous).
public final class Flatten: Layer {
    public init() {}
    public var parameters: [Parameter] { [] }
    public var spec: LayerSpec { .flatten }
    public func outputShape(for s: [Int]) throws(NeuralNetError) -> [Int] { [s.reduce(1, *)] }

    public func forward(_ x: Tensor, context: inout ForwardContext) -> (output: Tensor, cache: LayerCache) {
        (x.reshaped([x.batchSize, x.itemCount]), LayerCache(shape: x.shape))
    }

    public func backward(_ dy: Tensor, cache: LayerCache, gradients: GradientStore?) -> Tensor {
        dy.reshaped(cache.shape)
    }
}

/// `[N, …]` → `[N] + shape` (e.g. the VAE decoder's dense output to a feature map).
public final class Reshape: Layer {
    public let shape: [Int]
    public init(_ shape: [Int]) { self.shape = shape }
    public var parameters: [Parameter] { [] }
    public var spec: LayerSpec { .reshape(shape) }

    public func outputShape(for s: [Int]) throws(NeuralNetError) -> [Int] {
        guard s.reduce(1, *) == shape.reduce(1, *) else { throw .shapeMismatch(what: "reshape input", expected: shape, got: s) }
        return shape
    }

    public func forward(_ x: Tensor, context: inout ForwardContext) -> (output: Tensor, cache: LayerCache) {
        (x.reshaped([x.batchSize] + shape), LayerCache(shape: x.shape))
    }

    public func backward(_ dy: Tensor, cache: LayerCache, gradients: GradientStore?) -> Tensor {
        dy.reshaped(cache.shape)
    }
}
