import Engine

/// A loaded network of either kind, with its architecture: what model files hold.
public enum Network: Sendable {
    case classifier(Sequential)
    case vae(VariationalAutoencoder)

    /// Builds a freshly initialised network from an architecture.
    public init(architecture a: ModelArchitecture, seed: UInt64 = 1) throws(NeuralNetError) {
        switch a.kind {
        case .classifier:
            guard let layers = a.layers else { throw .invalidSpec("classifier '\(a.name)' has no layers") }
            self = .classifier(try Sequential(inputShape: a.inputShape, specs: layers, prefix: "layers", seed: seed))
        case .vae:
            guard let enc = a.encoder, let dec = a.decoder, let latent = a.latentDimension else {
                throw .invalidSpec("VAE '\(a.name)' needs encoder, latentDimension and decoder")
            }
            let encoder = try Sequential(inputShape: a.inputShape, specs: enc, prefix: "encoder", seed: seed)
            guard encoder.outputShape.count == 1 else {
                throw .invalidSpec("VAE encoder must end in a flat vector, ends in \(encoder.outputShape)")
            }
            var rng = RandomSource(seed: seed &+ 1)
            let features = encoder.outputShape[0]
            let mean = Dense(inFeatures: features, outFeatures: latent, name: "mean", rng: &rng)
            let logVar = Dense(inFeatures: features, outFeatures: latent, name: "logvar", rng: &rng)
            let decoder = try Sequential(inputShape: [latent], specs: dec, prefix: "decoder", seed: seed &+ 2)
            self = .vae(try VariationalAutoencoder(encoder: encoder, meanHead: mean, logVarianceHead: logVar, decoder: decoder))
        }
    }

    /// Every tensor saved in the weights file: parameters and buffers.
    public var namedTensors: [Parameter] {
        switch self {
        case .classifier(let s): s.parameters + s.buffers
        case .vae(let v): v.parameters + v.buffers
        }
    }

    public var trainableParameters: [Parameter] {
        switch self {
        case .classifier(let s): s.parameters
        case .vae(let v): v.parameters
        }
    }

    /// Copies weights in, checking that every tensor is present, has the right shape, and
    /// that the file holds nothing the architecture does not use.
    public func load(_ tensors: [String: Tensor]) throws(NeuralNetError) {
        var unused = Set(tensors.keys)
        for p in namedTensors {
            guard let t = tensors[p.name] else { throw .missingTensor(p.name) }
            guard t.shape == p.shape else { throw .shapeMismatch(what: "tensor '\(p.name)'", expected: p.shape, got: t.shape) }
            p.value = t
            unused.remove(p.name)
        }
        if let extra = unused.sorted().first { throw .unexpectedTensor(extra) }
    }

    public var parameterCount: Int { trainableParameters.reduce(0) { $0 + $1.value.count } }
}
