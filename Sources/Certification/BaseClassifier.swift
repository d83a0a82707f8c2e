import Engine
import NeuralNet
import Purification

/// The base classifier f of randomized smoothing, denoiser included: a label for every image
/// of a batch of noisy inputs. It may itself be random (a VAE denoiser draws fresh z): the
/// guarantee then holds for the smoothed classifier over the Gaussian noise and that
/// randomness together, since Φ⁻¹(P(f(x+δ) = c)) is 1/σ-Lipschitz in x for any [0, 1]-valued
/// function of x + δ (Salman et al. 2019, Lemma 2).
public protocol BaseClassifier: Sendable {
    /// Number of classes; labels are in `0..<classCount`.
    var classCount: Int { get }
    /// Labels of `images` `[N, H, W, C]` (values need not lie in [0, 1]).
    func labels(_ images: Tensor, rng: inout RandomSource) throws(CertificationError) -> [Int]
}

/// f(D(·)) for a served model: the denoiser D is the model's purifier `none` (identity), `vae`
/// (denoised smoothing, Salman et al. 2020) or `patch-vae`, then its classifier's argmax.
public struct DefendedBaseClassifier: BaseClassifier {
    public let model: DefendedModel
    public let options: DefenseOptions

    /// The denoisers smoothing can use; JPEG is left out (it clips and quantises, which would
    /// be valid but is no denoiser for Gaussian noise).
    public static let denoisers: [PurifierKind] = [.none, .vae, .patchVAE]

    public init(model: DefendedModel, options: DefenseOptions) throws(CertificationError) {
        guard Self.denoisers.contains(options.purifier) else {
            throw .invalidParameter(name: "purifier", reason: "must be none, vae or patch-vae for certification, got '\(options.purifier.rawValue)'")
        }
        do { _ = try model.purifier(for: options) } catch { throw .purification(error) }
        self.model = model
        self.options = options
    }

    public var classCount: Int { model.classifier.outputShape.first ?? model.labels.count }

    public func labels(_ images: Tensor, rng: inout RandomSource) throws(CertificationError) -> [Int] {
        let denoised: Tensor
        do { denoised = try model.purifiedImages(images, options: options, rng: &rng) } catch { throw .purification(error) }
        var context = ForwardContext(training: false, rng: rng.split(), recordsCache: false)
        return model.classifier(denoised, context: &context).argmaxPerItem()
    }
}
