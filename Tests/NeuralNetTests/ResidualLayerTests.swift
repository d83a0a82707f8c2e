import Testing
import Foundation
import Engine
@testable import NeuralNet
import TestSupport

/// The layers residual networks need: residual blocks (identity and projection shortcuts),
/// global average pooling and the stride-2 subsampling, checked against finite differences.
@Suite("Residual layers", .computeBound)
struct ResidualLayerTests {
    static func residual(_ body: [LayerSpec], _ shortcut: [LayerSpec], seed: UInt64 = 7) -> Residual {
        var rng = RandomSource(seed: seed)
        return Residual(body: body, shortcut: shortcut, name: "r", rng: &rng)
    }

    @Test func identityShortcut_backward_matchesFiniteDifference() {
        let block = Self.residual([.conv2d(inChannels: 3, outChannels: 3, kernel: 3),
                                   .batchNorm(channels: 3, momentum: 0.9, epsilon: 1e-3),
                                   .conv2d(inChannels: 3, outChannels: 3, kernel: 3)], [])
        GradientCheck.check(block, inputShape: [3, 4, 4, 3], training: true, tolerance: 3e-2)
        GradientCheck.check(block, inputShape: [2, 4, 4, 3], training: false)
    }

    @Test func projectionShortcut_downsampling_backward_matchesFiniteDifference() throws {
        let block = Self.residual([.conv2d(inChannels: 2, outChannels: 4, kernel: 3), .subsample2,
                                   .batchNorm(channels: 4, momentum: 0.9, epsilon: 1e-3)],
                                  [.conv2d(inChannels: 2, outChannels: 4, kernel: 1), .subsample2])
        #expect(try block.outputShape(for: [6, 6, 2]) == [3, 3, 4])
        #expect(block.parameters.map(\.name).contains("r.shortcut.0.weight"))
        #expect(block.buffers.count == 2)
        GradientCheck.check(block, inputShape: [3, 6, 6, 2], training: true, tolerance: 3e-2)
    }

    @Test func identityBlock_addsTheInput() {
        // A body that outputs zero leaves y = x: the identity path carries the input unchanged.
        let block = Self.residual([.conv2d(inChannels: 2, outChannels: 2, kernel: 3)], [])
        for p in block.parameters { p.value = Tensor(shape: p.shape) }
        let x = GradientCheck.randomTensor([2, 3, 3, 2], seed: 4)
        var context = ForwardContext.inference(seed: 1)
        #expect(block.forward(x, context: &context).output == x)
    }

    @Test func mismatchedShortcut_isAClearError() {
        let block = Self.residual([.conv2d(inChannels: 2, outChannels: 4, kernel: 3)], [])
        #expect(throws: NeuralNetError.self) { try block.outputShape(for: [4, 4, 2]) }
    }

    @Test func globalAveragePool_averagesAndBackpropagates() throws {
        #expect(try GlobalAveragePool().outputShape(for: [4, 5, 3]) == [3])
        let x = Tensor(shape: [1, 2, 2, 2], storage: [1, 10, 2, 20, 3, 30, 4, 40])
        var context = ForwardContext.inference(seed: 1)
        #expect(GlobalAveragePool().forward(x, context: &context).output.storage == [2.5, 25])
        GradientCheck.check(GlobalAveragePool(), inputShape: [2, 3, 4, 3])
    }

    @Test func subsample2_keepsEvenPositions_andBackpropagates() throws {
        #expect(try Subsample2().outputShape(for: [5, 4, 2]) == [3, 2, 2])
        let x = Tensor(shape: [1, 3, 3, 1], storage: (0..<9).map(Float.init))
        var context = ForwardContext.inference(seed: 1)
        #expect(Subsample2().forward(x, context: &context).output.storage == [0, 2, 6, 8])
        GradientCheck.check(Subsample2(), inputShape: [2, 5, 4, 2])
    }

    /// conv 3×3 "same" then subsample = a stride-2 convolution with padding 1 (PyTorch's
    /// downsampling conv), computed here directly at every output position.
    @Test func convThenSubsample_isAStride2Convolution() {
        var rng = RandomSource(seed: 3)
        let conv = Conv2D(inChannels: 2, outChannels: 3, kernel: 3, name: "c", rng: &rng)
        let x = GradientCheck.randomTensor([1, 6, 6, 2], seed: 5)
        var context = ForwardContext.inference(seed: 1)
        let y = Subsample2().forward(conv.forward(x, context: &context).output, context: &context).output
        let w = conv.weight.value
        for i in 0..<3 { for j in 0..<3 { for f in 0..<3 {
            var sum: Float = conv.bias.value.storage[f]
            for ky in 0..<3 { for kx in 0..<3 { for c in 0..<2 {
                let (r, s) = (2 * i + ky - 1, 2 * j + kx - 1)
                guard r >= 0, r < 6, s >= 0, s < 6 else { continue }
                sum += x.storage[(r * 6 + s) * 2 + c] * w.storage[((ky * 3 + kx) * 2 + c) * 3 + f]
            } } }
            #expect(abs(y.storage[(i * 3 + j) * 3 + f] - sum) < 1e-5)
        } } }
    }

    @Test func residualSpecs_roundTripThroughJSON_andBuildANetwork() throws {
        let specs: [LayerSpec] = [
            .conv2d(inChannels: 1, outChannels: 4, kernel: 3),
            .residual(body: [.conv2d(inChannels: 4, outChannels: 4, kernel: 3), .relu], shortcut: []),
            .residual(body: [.conv2d(inChannels: 4, outChannels: 8, kernel: 3), .subsample2],
                      shortcut: [.conv2d(inChannels: 4, outChannels: 8, kernel: 1), .subsample2]),
            .globalAveragePool, .dense(inFeatures: 8, outFeatures: 2),
        ]
        let json = try JSONEncoder().encode(specs)
        #expect(try JSONDecoder().decode([LayerSpec].self, from: json) == specs)
        let net = try Sequential(inputShape: [8, 8, 1], specs: specs, prefix: "layers", seed: 1)
        #expect(net.outputShape == [2])
        #expect(net.specs == specs)
        #expect(Set(net.parameters.map(\.name)).count == net.parameters.count)
        #expect(net.parameters.map(\.name).contains("layers.2.shortcut.0.weight"))
    }
}
