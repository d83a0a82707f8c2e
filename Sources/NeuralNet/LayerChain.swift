import Engine

/// The one walk over a chain of layers, shared by `Sequential` and the two branches of
/// `Residual`. It keeps one cache per layer, in order, so `backward` runs the layers one by one,
/// while the forward pass runs as one step what the engine can fuse:
/// - a convolution followed by `Subsample2` as one stride-2 convolution (the downsampling
///   blocks; `Subsample2.fusedCache` marks the subsampling as done);
/// - a convolution followed by ReLU or sigmoid with bias and activation applied to each GEMM
///   block in cache; at inference without caches a batch norm before the activation (a fixed
///   per-channel affine map then) and a max pooling after it join too.
enum LayerChain {
    static func forward(_ layers: [any Layer], _ x: Tensor, context: inout ForwardContext, caches: inout [LayerCache]) -> Tensor {
        var h = x
        caches.reserveCapacity(caches.count + layers.count)
        var i = 0
        while i < layers.count {
            if let conv = layers[i] as? Conv2D, i + 1 < layers.count, layers[i + 1] is Subsample2 {
                let (y, cache) = conv.forward(h, stride: 2, context: &context)
                caches.append(cache)
                caches.append(Subsample2.fusedCache)
                h = y
                i += 2
                continue
            }
            if let conv = layers[i] as? any ActivationFusing {
                let inference = !context.training && !context.recordsCache
                var next = i + 1
                var epilogue = ConvEpilogue()
                if inference, next < layers.count, let norm = layers[next] as? BatchNorm {
                    epilogue.affine = norm.inferenceAffine
                    next += 1
                }
                let activation = next < layers.count ? layers[next] as? any FusableActivation : nil
                if let activation {
                    epilogue.activation = activation.fused
                    next += 1
                }
                if inference, next < layers.count, layers[next] is MaxPool2, conv.canPool(inputShape: h.shape) {
                    epilogue.pool = true
                    next += 1
                }
                if next > i + 1 {
                    let (y, cache) = conv.forward(h, fusing: epilogue, context: &context)
                    caches.append(cache)
                    if epilogue.affine != nil { caches.append(.empty) }
                    // Not pooled here: pooling is only fused without caches.
                    if let activation { caches.append(activation.cache(forOutput: y, context: context)) }
                    if epilogue.pool { caches.append(.empty) }
                    h = y
                    i = next
                    continue
                }
            }
            let (y, cache) = layers[i].forward(h, context: &context)
            caches.append(cache)
            h = y
            i += 1
        }
        return h
    }

    /// Backpropagates `gradient` through `layers` with the caches `forward` recorded for them.
    static func backward(_ layers: [any Layer], caches: some Sequence<LayerCache>, _ gradient: Tensor,
                         gradients: GradientStore?) -> Tensor {
        var g = gradient
        for (layer, cache) in zip(layers, caches).reversed() {
            g = layer.backward(g, cache: cache, gradients: gradients)
        }
        return g
    }
}
