import Engine

/// 2×2 max pooling, stride 2 ("valid": an odd last row/column is dropped, as in Keras).
/// Input `[N, H, W, C]`, output `[N, H/2, W/2, C]`; backward routes each gradient to the
/// argmax position saved in forward.
public final class MaxPool2: Layer {
    public init() {}
    public var parameters: [Parameter] { [] }
    public var spec: LayerSpec { .maxPool2 }

    public func outputShape(for s: [Int]) throws(NeuralNetError) -> [Int] {
        guard s.count == 3, s[0] >= 2, s[1] >= 2 else {
            throw .shapeMismatch(what: "maxpool2 input (needs H, W ≥ 2)", expected: [2, 2, -1], got: s)
        }
        return [s[0] / 2, s[1] / 2, s[2]]
    }

    public func forward(_ x: Tensor, context: inout ForwardContext) -> (output: Tensor, cache: LayerCache) {
        let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (oh, ow) = (h / 2, w / 2)
        var y = Tensor(shape: [n, oh, ow, c])
        var argmax = context.recordsCache ? [Int32](repeating: 0, count: y.count) : []
        let record = context.recordsCache
        x.storage.withUnsafeBufferPointer { xp in
            y.storage.withUnsafeMutableBufferPointer { yp in
                argmax.withUnsafeMutableBufferPointer { ap in
                    var o = 0
                    for b in 0..<n {
                        for i in 0..<oh {
                            for j in 0..<ow {
                                let base = ((b * h + 2 * i) * w + 2 * j) * c
                                for ch in 0..<c {
                                    var best = base + ch
                                    var bestValue = xp[best]
                                    for (dy, dx) in [(0, 1), (1, 0), (1, 1)] {
                                        let idx = base + (dy * w + dx) * c + ch
                                        if xp[idx] > bestValue { bestValue = xp[idx]; best = idx }
                                    }
                                    yp[o] = bestValue
                                    if record { ap[o] = Int32(truncatingIfNeeded: best) }
                                    o += 1
                                }
                            }
                        }
                    }
                }
            }
        }
        return (y, record ? LayerCache(indices: argmax, shape: x.shape) : .empty)
    }

    public func backward(_ dy: Tensor, cache: LayerCache, gradients: GradientStore?) -> Tensor {
        var dx = Tensor(shape: cache.shape)
        dx.storage.withUnsafeMutableBufferPointer { d in
            for (o, idx) in cache.indices.enumerated() { d[Int(idx)] += dy.storage[o] }
        }
        return dx
    }
}

/// Nearest-neighbour 2× upsampling: `[N, H, W, C]` → `[N, 2H, 2W, C]`; backward sums the
/// four copies' gradients.
public final class UpSample2: Layer {
    public init() {}
    public var parameters: [Parameter] { [] }
    public var spec: LayerSpec { .upsample2 }

    public func outputShape(for s: [Int]) throws(NeuralNetError) -> [Int] {
        guard s.count == 3 else { throw .shapeMismatch(what: "upsample2 input", expected: [-1, -1, -1], got: s) }
        return [s[0] * 2, s[1] * 2, s[2]]
    }

    public func forward(_ x: Tensor, context: inout ForwardContext) -> (output: Tensor, cache: LayerCache) {
        let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        var y = Tensor(shape: [n, 2 * h, 2 * w, c])
        x.storage.withUnsafeBufferPointer { xp in
            y.storage.withUnsafeMutableBufferPointer { yp in
                let xb = xp.baseAddress!, yb = yp.baseAddress!
                for b in 0..<n {
                    for i in 0..<(2 * h) {
                        for j in 0..<(2 * w) {
                            (yb + ((b * 2 * h + i) * 2 * w + j) * c)
                                .update(from: xb + ((b * h + i / 2) * w + j / 2) * c, count: c)
                        }
                    }
                }
            }
        }
        return (y, .empty)
    }

    public func backward(_ dy: Tensor, cache: LayerCache, gradients: GradientStore?) -> Tensor {
        let (n, h2, w2, c) = (dy.shape[0], dy.shape[1], dy.shape[2], dy.shape[3])
        let (h, w) = (h2 / 2, w2 / 2)
        var dx = Tensor(shape: [n, h, w, c])
        dy.storage.withUnsafeBufferPointer { g in
            dx.storage.withUnsafeMutableBufferPointer { d in
                for b in 0..<n {
                    for i in 0..<h2 {
                        for j in 0..<w2 {
                            let src = ((b * h2 + i) * w2 + j) * c
                            let dst = ((b * h + i / 2) * w + j / 2) * c
                            for ch in 0..<c { d[dst + ch] += g[src + ch] }
                        }
                    }
                }
            }
        }
        return dx
    }
}
