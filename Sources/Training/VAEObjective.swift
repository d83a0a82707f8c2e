import NeuralNet

/// The VAE training objective: reconstruction (SSE or BCE, summed per image) + β·KL
/// (summed over latent dimensions, or averaged as in the paper's patch-VAE code).
struct VAEObjective {
    let options: TrainingOptions

    struct Terms {
        var loss: Double
        var gradReconstruction: Tensor
        var gradMean: Tensor
        var gradLogVariance: Tensor
    }

    func terms(pass: VariationalAutoencoder.Pass, input: Tensor) -> Terms {
        let recon = options.reconstructionLoss == .sse
            ? Losses.sumSquaredError(prediction: pass.reconstruction, target: input)
            : Losses.binaryCrossEntropy(prediction: pass.reconstruction, target: input)
        var kl = Losses.gaussianKL(mean: pass.mean, logVariance: pass.logVariance)
        var beta = options.klWeight
        if options.klReduction == .mean { beta /= Float(pass.mean.itemCount) }
        kl.gradMean.scale(by: beta)
        kl.gradLogVariance.scale(by: beta)
        return Terms(loss: recon.loss + Double(beta) * kl.loss, gradReconstruction: recon.grad,
                     gradMean: kl.gradMean, gradLogVariance: kl.gradLogVariance)
    }
}

import Engine
