import Engine

/// A residual block: `y = body(x) + shortcut(x)`, where an empty shortcut is the identity
/// (He et al. 2016) and a non-empty one is a projection (1×1 conv, subsample, BatchNorm) for
/// blocks that change the channel count or the resolution.
///
/// Sub-layers are named `<prefix>.body.<i>.…` and `<prefix>.shortcut.<i>.…`; their caches
/// travel in the block's `LayerCache.children` (body first, then shortcut).
public final class Residual: Layer {
    public let body: [any Layer]
    public let shortcut: [any Layer]

    public init(body: [any Layer], shortcut: [any Layer]) {
        self.body = body
        self.shortcut = shortcut
    }

    public convenience init(body: [LayerSpec], shortcut: [LayerSpec], name: String, rng: inout RandomSource) {
        let b = body.enumerated().map { i, spec in spec.makeLayer(prefix: "\(name).body.\(i)", rng: &rng) }
        let s = shortcut.enumerated().map { i, spec in spec.makeLayer(prefix: "\(name).shortcut.\(i)", rng: &rng) }
        self.init(body: b, shortcut: s)
    }

    public var parameters: [Parameter] { (body + shortcut).flatMap(\.parameters) }
    public var buffers: [Parameter] { (body + shortcut).flatMap(\.buffers) }
    public var spec: LayerSpec { .residual(body: body.map(\.spec), shortcut: shortcut.map(\.spec)) }

    public func outputShape(for s: [Int]) throws(NeuralNetError) -> [Int] {
        var b = s, c = s
        for layer in body { b = try layer.outputShape(for: b) }
        for layer in shortcut { c = try layer.outputShape(for: c) }
        guard b == c else { throw .shapeMismatch(what: "residual shortcut (body gives \(b))", expected: b, got: c) }
        return b
    }

    /// Body then shortcut through `LayerChain`, so a block fuses as a `Sequential` does.
    public func forward(_ x: Tensor, context: inout ForwardContext) -> (output: Tensor, cache: LayerCache) {
        var children: [LayerCache] = []
        var y = LayerChain.forward(body, x, context: &context, caches: &children)
        let s = LayerChain.forward(shortcut, x, context: &context, caches: &children)
        y.add(s)
        var cache = LayerCache.empty
        if context.recordsCache { cache.children = children }
        return (y, cache)
    }

    public func backward(_ dy: Tensor, cache: LayerCache, gradients: GradientStore?) -> Tensor {
        var g = LayerChain.backward(body, caches: cache.children.prefix(body.count), dy, gradients: gradients)
        g.add(LayerChain.backward(shortcut, caches: cache.children.dropFirst(body.count), dy, gradients: gradients))
        return g
    }
}

/// Global average pooling `[N, H, W, C] → [N, C]`: the head of a residual network.
public final class GlobalAveragePool: Layer {
    public init() {}
    public var parameters: [Parameter] { [] }
    public var spec: LayerSpec { .globalAveragePool }

    public func outputShape(for s: [Int]) throws(NeuralNetError) -> [Int] {
        guard s.count == 3 else { throw .shapeMismatch(what: "global average pool input", expected: [-1, -1, -1], got: s) }
        return [s[2]]
    }

    public func forward(_ x: Tensor, context: inout ForwardContext) -> (output: Tensor, cache: LayerCache) {
        let (n, hw, c) = (x.shape[0], x.shape[1] * x.shape[2], x.shape[3])
        var y = Tensor(shape: [n, c])
        let scale = 1 / Float(hw)
        x.storage.withUnsafeBufferPointer { xp in
            y.storage.withUnsafeMutableBufferPointer { yp in
                for b in 0..<n {
                    for p in 0..<hw {
                        let base = (b * hw + p) * c
                        for ch in 0..<c { yp[b * c + ch] += xp[base + ch] }
                    }
                    for ch in 0..<c { yp[b * c + ch] *= scale }
                }
            }
        }
        return (y, context.recordsCache ? LayerCache(shape: x.shape) : .empty)
    }

    public func backward(_ dy: Tensor, cache: LayerCache, gradients: GradientStore?) -> Tensor {
        let shape = cache.shape
        let (n, hw, c) = (shape[0], shape[1] * shape[2], shape[3])
        var dx = Tensor(shape: shape)
        let scale = 1 / Float(hw)
        dy.storage.withUnsafeBufferPointer { dp in
            dx.storage.withUnsafeMutableBufferPointer { xp in
                for b in 0..<n {
                    for p in 0..<hw {
                        let base = (b * hw + p) * c
                        for ch in 0..<c { xp[base + ch] = dp[b * c + ch] * scale }
                    }
                }
            }
        }
        return dx
    }
}

/// Keeps every second row and column (`[N, H, W, C] → [N, ⌈H/2⌉, ⌈W/2⌉, C]`). After a
/// stride-1 "same" convolution it gives exactly a stride-2 convolution with padding (k−1)/2,
/// PyTorch's downsampling convolution; the engine's convolutions stay stride 1.
public final class Subsample2: Layer {
    public init() {}
    public var parameters: [Parameter] { [] }
    public var spec: LayerSpec { .subsample2 }

    public func outputShape(for s: [Int]) throws(NeuralNetError) -> [Int] {
        guard s.count == 3 else { throw .shapeMismatch(what: "subsample2 input", expected: [-1, -1, -1], got: s) }
        return [(s[0] + 1) / 2, (s[1] + 1) / 2, s[2]]
    }

    public func forward(_ x: Tensor, context: inout ForwardContext) -> (output: Tensor, cache: LayerCache) {
        let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (oh, ow) = ((h + 1) / 2, (w + 1) / 2)
        var y = Tensor(shape: [n, oh, ow, c])
        x.storage.withUnsafeBufferPointer { xp in
            y.storage.withUnsafeMutableBufferPointer { yp in
                for b in 0..<n {
                    for i in 0..<oh {
                        for j in 0..<ow {
                            let src = ((b * h + 2 * i) * w + 2 * j) * c, dst = ((b * oh + i) * ow + j) * c
                            for ch in 0..<c { yp[dst + ch] = xp[src + ch] }
                        }
                    }
                }
            }
        }
        return (y, context.recordsCache ? LayerCache(shape: x.shape) : .empty)
    }

    /// The cache of a subsampling already done by the convolution before it (stride 2, see
    /// `LayerChain.forward`): `backward` passes the gradient through, the convolution's backward takes it.
    static let fusedCache = LayerCache(indices: [1])

    public func backward(_ dy: Tensor, cache: LayerCache, gradients: GradientStore?) -> Tensor {
        if cache.indices.first == 1 { return dy }
        let shape = cache.shape
        let (n, h, w, c) = (shape[0], shape[1], shape[2], shape[3])
        let (oh, ow) = ((h + 1) / 2, (w + 1) / 2)
        var dx = Tensor(shape: shape)
        dy.storage.withUnsafeBufferPointer { dp in
            dx.storage.withUnsafeMutableBufferPointer { xp in
                for b in 0..<n {
                    for i in 0..<oh {
                        for j in 0..<ow {
                            let dst = ((b * h + 2 * i) * w + 2 * j) * c, src = ((b * oh + i) * ow + j) * c
                            for ch in 0..<c { xp[dst + ch] = dp[src + ch] }
                        }
                    }
                }
            }
        }
        return dx
    }
}
