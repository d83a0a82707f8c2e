import Testing
import TestSupport
import Engine
import Imaging
import NeuralNet
@testable import Purification

/// Image-level purification: any size in, the same size out, through the whole-image VAE
/// (resized to the model's input and back) or the patch VAE (at full resolution).
@Suite("Image purifier: sizes, channels, whole-image vs patch VAE", .computeBound)
struct ImagePurifierTests {
    /// A model of `channels` whose VAEs (8×8 whole-image, 4×4 patch) reproduce their input.
    static func model(channels: Int = 1) throws -> DefendedModel {
        var rng = RandomSource(seed: 4)
        let classifier = try Sequential(inputShape: [8, 8, channels],
                                        layers: [Flatten(), Dense(inFeatures: 64 * channels, outFeatures: 3, name: "c", rng: &rng)])
        return DefendedModel(name: "toy", version: "1", labels: ["a", "b", "c"], classifier: classifier,
                             vae: try TestNetworks.identityVAE(patch: 8, channels: channels),
                             patchVAE: try TestNetworks.identityVAE(patch: 4, channels: channels), threshold: 0.01)
    }

    static func image(width: Int, height: Int, channels: Int) throws -> Image {
        try Image(width: width, height: height, channels: channels,
                  pixels: (0..<(width * height * channels)).map { UInt8(($0 * 37 + 11) % 256) })
    }

    @Test(arguments: [(3, 5), (8, 8), (21, 21), (13, 6)])
    func patchVAE_keepsAnySize_atFullResolution(size: (width: Int, height: Int)) throws {
        let purifier = try ImagePurifier(model: Self.model(), options: DefenseOptions(purifier: .patchVAE, seed: 1))
        let input = try Self.image(width: size.width, height: size.height, channels: 1)
        #expect(!purifier.resizes(width: size.width, height: size.height))
        let (out, score) = try purifier.purify(input)
        #expect(out == input)   // the identity VAE runs on the image itself, not a resized copy
        #expect(score < 1e-9)
    }

    @Test func wholeImageVAE_atTheModelsSize_isNotResized() throws {
        let purifier = try ImagePurifier(model: Self.model(), options: DefenseOptions(purifier: .vae, seed: 1))
        let input = try Self.image(width: 8, height: 8, channels: 1)
        #expect(!purifier.resizes(width: 8, height: 8))
        #expect(try purifier.purify(input).image == input)
    }

    @Test(arguments: [(3, 5), (21, 21), (13, 6), (8, 9)])
    func wholeImageVAE_atOtherSizes_resizesToTheModel_andBack(size: (width: Int, height: Int)) throws {
        let model = try Self.model()
        let purifier = try ImagePurifier(model: model, options: DefenseOptions(purifier: .vae, seed: 1))
        let input = try Self.image(width: size.width, height: size.height, channels: 1)
        #expect(purifier.resizes(width: size.width, height: size.height))
        #expect(purifier.workingSize(width: size.width, height: size.height) == (8, 8))
        let (out, score) = try purifier.purify(input)
        #expect(out.width == size.width && out.height == size.height && out.channels == 1)
        // The VAE saw the resized image: the result is that image (an identity VAE) resized back.
        let expected = try input.resized(width: 8, height: 8).resized(width: size.width, height: size.height)
        #expect(out == expected)
        #expect(score < 1e-9)
    }

    @Test func colourImages_becomeTheModelsChannels() throws {
        let rgb = try Self.image(width: 6, height: 10, channels: 3)
        let toGray = try ImagePurifier(model: Self.model(channels: 1), options: DefenseOptions(purifier: .patchVAE, seed: 1))
        let gray = try toGray.purify(rgb).image
        #expect(gray.channels == 1 && gray.width == 6 && gray.height == 10)
        #expect(gray == (try rgb.converted(toChannels: 1, background: .black)))

        let grayInput = try Self.image(width: 6, height: 10, channels: 1)
        let toRGB = try ImagePurifier(model: Self.model(channels: 3), options: DefenseOptions(purifier: .vae, seed: 1))
        let colour = try toRGB.purify(grayInput).image
        #expect(colour.channels == 3 && colour.width == 6 && colour.height == 10)
    }

    @Test func jpeg_changesTheImage_andScoresIt_atFullSize() throws {
        let purifier = try ImagePurifier(model: Self.model(), options: DefenseOptions(purifier: .jpeg, jpegQuality: 10, seed: 1))
        let input = try Self.image(width: 19, height: 11, channels: 1)
        #expect(!purifier.resizes(width: 19, height: 11))
        let (out, score) = try purifier.purify(input)
        #expect(out.width == 19 && out.height == 11)
        #expect(out != input && score > 1e-4)
        #expect(purifier.isSuspected(score))
    }

    @Test func defaultKind_isPreferredAtTheModelsSize_otherwiseForOtherSizes_andFallsBack() throws {
        let model = try Self.model()
        #expect(ImagePurifier.defaultKind(width: 8, height: 8, model: model, preferred: .vae, otherSizes: .patchVAE) == .vae)
        #expect(ImagePurifier.defaultKind(width: 9, height: 8, model: model, preferred: .vae, otherSizes: .patchVAE) == .patchVAE)
        let bare = DefendedModel(name: "bare", version: "1", labels: model.labels, classifier: model.classifier,
                                 vae: nil, patchVAE: nil, threshold: 0.01)
        #expect(ImagePurifier.defaultKind(width: 9, height: 8, model: bare, preferred: .vae, otherSizes: .patchVAE) == .jpeg)
    }

    @Test func unavailablePurifier_isRefusedWhenResolved() throws {
        let model = try Self.model()
        let bare = DefendedModel(name: "bare", version: "1", labels: model.labels, classifier: model.classifier,
                                 vae: nil, patchVAE: nil, threshold: 0.01)
        #expect(throws: PurificationError.unavailable("model 'bare' has no patch VAE")) {
            _ = try ImagePurifier(model: bare, options: DefenseOptions(purifier: .patchVAE))
        }
    }

    @Test func resolvedDefense_reportsThePurifiersSettings_beforeTheRequests() throws {
        let defense = try ResolvedDefense(model: Self.model(), options: DefenseOptions(purifier: .jpeg, samples: 2, jpegQuality: 40, seed: 7))
        #expect(defense.name == "jpeg" && defense.kind == .jpeg)
        #expect(defense.reportedSettings["quality"] == "40")
        #expect(defense.reportedSettings["samples"] == "2" && defense.reportedSettings["seed"] == "7")
    }
}
