import NeuralNet

/// The networks of Luo & Pfister's reference code (see `shared/paper-notes.md` §1–2),
/// expressed as architecture descriptions. Deviations are named where they occur.
public enum PaperArchitectures {
    /// MNIST classifier: conv 5×5 32 → pool → conv 5×5 64 → pool → dense 1024 → dropout 0.4 → dense 10.
    public static func mnistClassifier() -> ModelArchitecture {
        ModelArchitecture(
            name: "mnist-classifier", version: "1.0.0", kind: .classifier, inputShape: [28, 28, 1],
            labels: (0...9).map(String.init),
            layers: [
                .conv2d(inChannels: 1, outChannels: 32, kernel: 5), .relu, .maxPool2,
                .conv2d(inChannels: 32, outChannels: 64, kernel: 5), .relu, .maxPool2,
                .flatten, .dense(inFeatures: 7 * 7 * 64, outFeatures: 1024), .relu, .dropout(rate: 0.4),
                .dense(inFeatures: 1024, outFeatures: 10),
            ],
            weights: "mnist-classifier.safetensors")
    }

    /// CIFAR-10 classifier: three blocks of [conv 3×3 + BN + ReLU]×2 with 32/64/128 filters,
    /// each ending in max-pool and dropout 0.2/0.3/0.4, then dense 10.
    public static func cifarClassifier() -> ModelArchitecture {
        var layers: [LayerSpec] = []
        var channels = 3
        for (filters, drop) in [(32, Float(0.2)), (64, 0.3), (128, 0.4)] {
            for _ in 0..<2 {
                layers += [.conv2d(inChannels: channels, outChannels: filters, kernel: 3),
                           .batchNorm(channels: filters, momentum: 0.9, epsilon: 1e-3), .relu]
                channels = filters
            }
            layers += [.maxPool2, .dropout(rate: drop)]
        }
        layers += [.flatten, .dense(inFeatures: 4 * 4 * 128, outFeatures: 10)]
        return ModelArchitecture(name: "cifar10-classifier", version: "1.0.0", kind: .classifier, inputShape: [32, 32, 3],
                                 labels: ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
                                 layers: layers, weights: "cifar10-classifier.safetensors")
    }

    /// MNIST VAE, latent 256: encoder conv16 → pool → conv8 → pool → 392; decoder mirrors it
    /// with nearest upsampling and a sigmoid output.
    public static func mnistVAE(latent: Int = 256) -> ModelArchitecture {
        ModelArchitecture(
            name: "mnist-vae", version: "1.0.0", kind: .vae, inputShape: [28, 28, 1],
            encoder: [
                .conv2d(inChannels: 1, outChannels: 16, kernel: 3), .relu, .maxPool2,
                .conv2d(inChannels: 16, outChannels: 8, kernel: 3), .relu, .maxPool2, .flatten,
            ],
            latentDimension: latent,
            decoder: [
                .dense(inFeatures: latent, outFeatures: 392), .relu, .reshape([7, 7, 8]),
                .conv2d(inChannels: 8, outChannels: 8, kernel: 3), .relu, .upsample2,
                .conv2d(inChannels: 8, outChannels: 16, kernel: 3), .relu, .upsample2,
                .conv2d(inChannels: 16, outChannels: 1, kernel: 3), .sigmoid,
            ],
            weights: "mnist-vae.safetensors")
    }

    /// CIFAR-10 VAE, latent 1024: conv64 → pool → conv32 → conv16 → 4096; decoder dense 4096 →
    /// 16×16×16 → conv16 → conv32 → upsample → conv64 → conv3 + sigmoid.
    public static func cifarVAE(latent: Int = 1024) -> ModelArchitecture {
        ModelArchitecture(
            name: "cifar10-vae", version: "1.0.0", kind: .vae, inputShape: [32, 32, 3],
            encoder: [
                .conv2d(inChannels: 3, outChannels: 64, kernel: 3), .relu, .maxPool2,
                .conv2d(inChannels: 64, outChannels: 32, kernel: 3), .relu,
                .conv2d(inChannels: 32, outChannels: 16, kernel: 3), .relu, .flatten,
            ],
            latentDimension: latent,
            decoder: [
                .dense(inFeatures: latent, outFeatures: 4096), .relu, .reshape([16, 16, 16]),
                .conv2d(inChannels: 16, outChannels: 16, kernel: 3), .relu,
                .conv2d(inChannels: 16, outChannels: 32, kernel: 3), .relu, .upsample2,
                .conv2d(inChannels: 32, outChannels: 64, kernel: 3), .relu,
                .conv2d(inChannels: 64, outChannels: 3, kernel: 3), .sigmoid,
            ],
            weights: "cifar10-vae.safetensors")
    }

    /// Patch VAE for p×p patches with `channels` channels (the paper's NIPS-2017 model:
    /// conv128 → conv64 → pool → conv32 → dense heads; decoder of stride-1 transposed convs).
    /// `width` scales the filter counts (1 = the paper's 128/64/32).
    public static func patchVAE(patch p: Int, channels c: Int, latent: Int, width: Int = 1) -> ModelArchitecture {
        precondition(p % 2 == 0, "patch size must be even")
        let (f1, f2, f3) = (128 / width, 64 / width, 32 / width)
        let h = p / 2
        let tag = c == 1 ? "gray" : "rgb"
        return ModelArchitecture(
            name: "patch-vae-\(tag)-\(p)", version: "1.0.0", kind: .vae, inputShape: [p, p, c],
            encoder: [
                .conv2d(inChannels: c, outChannels: f1, kernel: 3), .relu,
                .conv2d(inChannels: f1, outChannels: f2, kernel: 3), .relu, .maxPool2,
                .conv2d(inChannels: f2, outChannels: f3, kernel: 3), .relu, .flatten,
            ],
            latentDimension: latent,
            decoder: [
                .dense(inFeatures: latent, outFeatures: h * h * f3), .relu, .reshape([h, h, f3]),
                .convTranspose2d(inChannels: f3, outChannels: f3, kernel: 3), .relu,
                .convTranspose2d(inChannels: f3, outChannels: f2, kernel: 3), .relu, .upsample2,
                .convTranspose2d(inChannels: f2, outChannels: f1, kernel: 3), .relu,
                .convTranspose2d(inChannels: f1, outChannels: c, kernel: 3), .sigmoid,
            ],
            weights: "patch-vae-\(tag)-\(p).safetensors")
    }
}
