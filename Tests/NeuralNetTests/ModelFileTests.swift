import Testing
import Foundation
import Engine
@testable import NeuralNet
import TestSupport

@Suite("Model files: safetensors and architecture JSON", .computeBound)
struct ModelFileTests {
    static func smallArchitecture() -> ModelArchitecture {
        ModelArchitecture(name: "tiny", version: "0.1", kind: .classifier, inputShape: [4, 4, 1], labels: ["a", "b"],
                          layers: [.conv2d(inChannels: 1, outChannels: 2, kernel: 3), .batchNorm(channels: 2, momentum: 0.9, epsilon: 1e-3),
                                   .relu, .flatten, .dense(inFeatures: 32, outFeatures: 2)],
                          weights: "tiny.safetensors")
    }

    func tempDirectory() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("vg-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func safetensors_roundTrip_f32_isExact() throws {
        let t = ["a": GradientCheck.randomTensor([2, 3], seed: 1), "b": Tensor(shape: [4], storage: [1, -2, 3.5, 0])]
        let decoded = try SafeTensors.decode(try SafeTensors.encode(t, metadata: ["k": "v"]))
        #expect(decoded.tensors == t)
        #expect(decoded.metadata == ["k": "v"])
    }

    @Test func safetensors_f16_isWithinHalfPrecision() throws {
        let t = ["w": GradientCheck.randomTensor([100], seed: 2)]
        let decoded = try SafeTensors.decode(try SafeTensors.encode(t, dtype: .f16)).tensors["w"]!
        #expect(decoded.maxAbsDifference(t["w"]!) < 1e-3)
    }

    @Test func safetensors_truncatedFile_namesTheTensor() throws {
        let data = try SafeTensors.encode(["weights": Tensor(shape: [64], repeating: 1)])
        #expect(throws: NeuralNetError.truncatedTensor(name: "weights", expectedBytes: 256, availableBytes: 156)) {
            try SafeTensors.decode(data.prefix(data.count - 100))
        }
    }

    @Test func modelFile_saveAndLoad_reproducesOutputs() throws {
        let arch = Self.smallArchitecture()
        let net = try Network(architecture: arch, seed: 3)
        let dir = tempDirectory()
        let url = try ModelFile.save(net, architecture: arch, to: dir)
        let loaded = try ModelFile.load(url)
        guard case .classifier(let a) = net, case .classifier(let b) = loaded.network else { Issue.record("kind"); return }
        let x = GradientCheck.randomTensor([2, 4, 4, 1], seed: 4)
        var c1 = ForwardContext.inference(seed: 1), c2 = ForwardContext.inference(seed: 1)
        #expect(a(x, context: &c1) == b(x, context: &c2))
        #expect(loaded.architecture.sha256?.count == 64)
    }

    @Test func modelFile_wrongShape_namesTheTensor() throws {
        let arch = Self.smallArchitecture()
        var other = arch
        other.layers![0] = .conv2d(inChannels: 1, outChannels: 2, kernel: 5)
        let dir = tempDirectory()
        try ModelFile.save(try Network(architecture: other), architecture: other, to: dir)
        // Swap the JSON for one that expects a 3×3 kernel.
        var expected = arch
        expected.sha256 = nil
        try JSONEncoder().encode(expected).write(to: dir.appendingPathComponent("tiny.json"))
        #expect(throws: NeuralNetError.shapeMismatch(what: "tensor 'layers.0.weight'", expected: [3, 3, 1, 2], got: [5, 5, 1, 2])) {
            try ModelFile.load(dir.appendingPathComponent("tiny.json"))
        }
    }

    @Test func modelFile_corruptedWeights_failChecksum() throws {
        let arch = Self.smallArchitecture()
        let dir = tempDirectory()
        let url = try ModelFile.save(try Network(architecture: arch), architecture: arch, to: dir)
        let weights = dir.appendingPathComponent("tiny.safetensors")
        var data = try Data(contentsOf: weights)
        data[data.count - 1] ^= 0xFF
        try data.write(to: weights)
        #expect(performing: { try ModelFile.load(url) }, throws: { error in
            if case NeuralNetError.checksumMismatch = error { return true } else { return false }
        })
    }

    @Test func architecture_unknownLayer_isAClearError() throws {
        let json = #"{"type": "conv3d", "in": 1}"#
        #expect(throws: NeuralNetError.unknownLayer("conv3d")) {
            try JSONDecoder().decode(LayerSpec.self, from: Data(json.utf8))
        }
    }

    @Test func layerSpecs_roundTripThroughJSON() throws {
        let specs: [LayerSpec] = [.conv2d(inChannels: 1, outChannels: 2, kernel: 3), .convTranspose2d(inChannels: 2, outChannels: 1, kernel: 3),
                                  .dense(inFeatures: 3, outFeatures: 4), .relu, .sigmoid, .maxPool2, .upsample2,
                                  .batchNorm(channels: 2, momentum: 0.9, epsilon: 1e-3), .dropout(rate: 0.5), .flatten,
                                  .reshape([2, 2]), .softmax]
        #expect(try JSONDecoder().decode([LayerSpec].self, from: JSONEncoder().encode(specs)) == specs)
    }

    @Test func checksum_sha256_ofKnownString() {
        #expect(Checksum.sha256(Data("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
