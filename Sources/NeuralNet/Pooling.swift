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
        var argmax = context.recordsCache ? [Int32](repeating: 0, count: n * oh * ow * c) : []
        let record = context.recordsCache
        // Not zero-filled first: the loops write every output. The candidates are compared in
        // the order (0,0), (0,1), (1,0), (1,1), the first of equal maxima kept, in both loops.
        let values = [Float](unsafeUninitializedCapacity: n * oh * ow * c) { yp, initialized in
            initialized = n * oh * ow * c
            guard n * oh * ow * c > 0 else { return }
            x.storage.withUnsafeBufferPointer { xp in
                guard record else {
                    // Rows 2i and 2i + 1 of each image (an odd last row is left out).
                    for b in 0..<n {
                        Self.pool(xp.baseAddress! + b * h * w * c, rowPairs: oh, width: w, channels: c,
                                  into: yp.baseAddress! + b * oh * ow * c)
                    }
                    return
                }
                argmax.withUnsafeMutableBufferPointer { ap in
                    var o = 0
                    for b in 0..<n {
                        for i in 0..<oh {
                            for j in 0..<ow {
                                let base = ((b * h + 2 * i) * w + 2 * j) * c
                                for ch in 0..<c {
                                    let topLeft = base + ch
                                    var best = topLeft
                                    var bestValue = xp[topLeft]
                                    if xp[topLeft + c] > bestValue { best = topLeft + c; bestValue = xp[best] }
                                    if xp[topLeft + w * c] > bestValue { best = topLeft + w * c; bestValue = xp[best] }
                                    if xp[topLeft + w * c + c] > bestValue { best = topLeft + w * c + c; bestValue = xp[best] }
                                    yp[o] = bestValue
                                    ap[o] = Int32(truncatingIfNeeded: best)
                                    o += 1
                                }
                            }
                        }
                    }
                }
            }
        }
        let y = Tensor(shape: [n, oh, ow, c], storage: values)
        return (y, record ? LayerCache(indices: argmax, shape: x.shape) : .empty)
    }

    /// The maxima of `rowPairs` pairs of rows (`width` pixels of `c` channels each, the pairs
    /// one after another at `src`) into `rowPairs` rows of `width / 2` pixels at `dst`; an odd
    /// last column is left out. Selects over contiguous channels, so the loop vectorises; the
    /// order and the comparison are those of the argmax loop, so the values are the same. Also
    /// the pooling a convolution applies to its output blocks (`ConvEpilogue.pool`).
    static func pool(_ src: UnsafePointer<Float>, rowPairs: Int, width w: Int, channels c: Int,
                     into dst: UnsafeMutablePointer<Float>) {
        var out = dst
        for pair in 0..<rowPairs {
            let top = src + pair * 2 * w * c
            for j in 0..<(w / 2) {
                let (p00, p01) = (top + 2 * j * c, top + 2 * j * c + c)
                let (p10, p11) = (p00 + w * c, p01 + w * c)
                for ch in 0..<c {
                    var v = p00[ch]
                    v = p01[ch] > v ? p01[ch] : v
                    v = p10[ch] > v ? p10[ch] : v
                    out[ch] = p11[ch] > v ? p11[ch] : v
                }
                out += c
            }
        }
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
