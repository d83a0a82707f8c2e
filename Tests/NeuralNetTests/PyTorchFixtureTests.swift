import Foundation
import Testing
import Engine
@testable import NeuralNet
import TestSupport

/// Whole networks cross-checked against PyTorch: `scripts/make-torch-fixtures.py` (run by hand,
/// PyTorch from PyPI) wrote, for each small network, our architecture JSON, the weights converted
/// to our layouts, and `NAME.io.safetensors` with an NHWC input (batch 2), PyTorch's output and
/// the input gradient of a fixed scalar loss, computed in float64 and rounded to float32.
///
/// Tolerance, element by element: `|ours - torch| ≤ 1e-4 · max(1, |torch|)`, i.e. absolute 1e-4
/// for values up to 1 and relative 1e-4 above. Because gradients can be small, each tensor must
/// also satisfy `max |ours - torch| ≤ 1e-4 · max |torch|` (relative to the tensor's own scale).
@Suite("PyTorch fixtures: whole networks against PyTorch", .computeBound)
struct PyTorchFixtureTests {
    /// Located from this source file, so the test target needs no resource declaration.
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let tolerance: Float = 1e-4

    struct Fixture {
        let model: ModelFile
        let io: [String: Tensor]

        init(_ name: String) throws {
            let json = PyTorchFixtureTests.directory.appendingPathComponent("\(name).json")
            let ioURL = PyTorchFixtureTests.directory.appendingPathComponent("\(name).io.safetensors")
            try #require(FileManager.default.fileExists(atPath: json.path),
                         "missing fixture \(json.path): run scripts/make-torch-fixtures.py")
            model = try ModelFile.load(json)
            io = try SafeTensors.decode(try Data(contentsOf: ioURL), path: ioURL.path).tensors
        }

        func tensor(_ key: String) throws -> Tensor {
            try #require(io[key], "fixture has no tensor '\(key)'")
        }
    }

    /// Compares `ours` with PyTorch's `reference`; returns the largest absolute difference.
    @discardableResult
    static func compare(_ what: String, ours: Tensor, reference: Tensor,
                        sourceLocation: SourceLocation = #_sourceLocation) -> Float {
        #expect(ours.shape == reference.shape, "\(what): shape", sourceLocation: sourceLocation)
        guard ours.shape == reference.shape else { return .infinity }
        var maxDiff: Float = 0, maxRef: Float = 0, worst = 0, failures = 0
        for i in 0..<ours.count {
            let r = reference.storage[i], d = abs(ours.storage[i] - r)
            maxRef = max(maxRef, abs(r))
            if !(d <= tolerance * max(1, abs(r))) { failures += 1 }
            if !(d <= maxDiff) { maxDiff = d; worst = i }
        }
        print("PyTorchFixture \(what): max|diff| = \(maxDiff), max|torch| = \(maxRef), " +
              "relative to scale = \(maxRef > 0 ? maxDiff / maxRef : 0)")
        let worstPair = "ours \(ours.storage[worst]), torch \(reference.storage[worst])"
        #expect(failures == 0, "\(what): \(failures) of \(ours.count) elements off; worst at \(worst): \(worstPair)",
                sourceLocation: sourceLocation)
        #expect(maxDiff <= tolerance * maxRef, "\(what): max|diff| \(maxDiff) vs scale \(maxRef)",
                sourceLocation: sourceLocation)
        #expect(maxRef > 0, "\(what): reference is all zeros, the fixture checks nothing", sourceLocation: sourceLocation)
        return maxDiff
    }

    /// Forward in inference mode (recording caches) and backward of the mean cross-entropy.
    static func runClassifier(_ net: Sequential, input: Tensor, labels: [Int]) -> (logits: Tensor, inputGrad: Tensor) {
        var context = ForwardContext(training: false, rng: RandomSource(seed: 1), recordsCache: true)
        let (logits, caches) = net.forward(input, context: &context)
        let loss = Losses.softmaxCrossEntropy(logits: logits, labels: labels)
        return (logits, net.backward(loss.grad, caches: caches, gradients: nil))
    }

    @Test(arguments: ["torch-mnist-classifier", "torch-cifar-block"])
    func classifier_matchesPyTorch(name: String) throws {
        let fixture = try Fixture(name)
        guard case .classifier(let net) = fixture.model.network else {
            Issue.record("\(name) is not a classifier"); return
        }
        let input = try fixture.tensor("input")
        let labels = try fixture.tensor("labels").storage.map { Int($0) }
        let (logits, inputGrad) = Self.runClassifier(net, input: input, labels: labels)
        Self.compare("\(name) output", ours: logits, reference: try fixture.tensor("output"))
        Self.compare("\(name) input_grad", ours: inputGrad, reference: try fixture.tensor("input_grad"))
    }

    @Test(arguments: ["torch-mnist-vae", "torch-patch-vae"])
    func vae_matchesPyTorch(name: String) throws {
        let fixture = try Fixture(name)
        guard case .vae(let vae) = fixture.model.network else {
            Issue.record("\(name) is not a VAE"); return
        }
        let input = try fixture.tensor("input"), eps = try fixture.tensor("eps"), w = try fixture.tensor("w")
        var context = ForwardContext(training: false, rng: RandomSource(seed: 1), recordsCache: true)
        let pass = vae.forward(input, sampling: .sample, context: &context, noise: eps)
        #expect(pass.noise == eps)
        // L = Σ w ⊙ x̂, so ∂L/∂x̂ = w.
        let inputGrad = vae.backward(pass, gradReconstruction: w, gradients: nil)
        Self.compare("\(name) mean", ours: pass.mean, reference: try fixture.tensor("mean"))
        Self.compare("\(name) logvar", ours: pass.logVariance, reference: try fixture.tensor("logvar"))
        Self.compare("\(name) output", ours: pass.reconstruction, reference: try fixture.tensor("output"))
        Self.compare("\(name) input_grad", ours: inputGrad, reference: try fixture.tensor("input_grad"))
    }

    /// The fixtures are sensitive to layout: the same weights with the first conv kernel's
    /// spatial axes swapped (a typical conversion slip) miss PyTorch by far more than the tolerance.
    @Test func fixtures_detectALayoutSlip() throws {
        let fixture = try Fixture("torch-mnist-classifier")
        guard case .classifier(let net) = fixture.model.network, let conv = net.layers.first as? Conv2D else {
            Issue.record("unexpected fixture network"); return
        }
        let (k, c, f) = (conv.kernel, conv.inChannels, conv.outChannels)
        let original = conv.weight.value
        var swapped = original
        for ky in 0..<k { for kx in 0..<k { for ci in 0..<c { for fo in 0..<f {
            swapped.storage[((ky * k + kx) * c + ci) * f + fo] = original.storage[((kx * k + ky) * c + ci) * f + fo]
        } } } }
        conv.weight.value = swapped
        defer { conv.weight.value = original }
        let input = try fixture.tensor("input")
        let labels = try fixture.tensor("labels").storage.map { Int($0) }
        let logits = Self.runClassifier(net, input: input, labels: labels).logits
        let reference = try fixture.tensor("output")
        let maxDiff = zip(logits.storage, reference.storage).map { abs($0 - $1) }.max() ?? 0
        #expect(maxDiff > 100 * Self.tolerance, "a transposed kernel went unnoticed (max|diff| \(maxDiff))")
    }
}
