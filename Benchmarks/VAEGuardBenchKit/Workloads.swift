import Engine
import Foundation
import Imaging
import Models
import NeuralNet
import Purification

/// One measurable piece of work with an analytic FLOP count (0 when FLOPs are meaningless,
/// e.g. codecs), shared by the ordo-one benchmarks and the `VAEGuardPerfReport` table.
///
/// `make()` builds the inputs (weights, tensors, images) outside the timed region and
/// returns the closure to time; one call of that closure is one iteration.
public struct Workload: Sendable {
    public enum Group: String, Sendable, CaseIterable {
        case sgemm, layer, model, purification, codec, http
    }

    public let name: String
    public let group: Group
    /// FLOPs of one iteration (2·M·N·K per GEMM; conv forward 2·N·H·W·k²·C·F; backward 2× forward).
    public let flops: Double
    /// Items (images, requests) per iteration, for throughput columns.
    public let items: Int
    /// Pixels per item, for megapixel/s (purification).
    public let pixelsPerItem: Int
    public let make: @Sendable () -> @Sendable () -> Void

    public init(name: String, group: Group, flops: Double = 0, items: Int = 1, pixelsPerItem: Int = 0,
                make: @escaping @Sendable () -> @Sendable () -> Void) {
        self.name = name
        self.group = group
        self.flops = flops
        self.items = items
        self.pixelsPerItem = pixelsPerItem
        self.make = make
    }
}

/// Opaque sink so the optimiser cannot drop the measured work.
@inline(never) public func consume<T>(_ value: T) { withExtendedLifetime(value) {} }

/// Deterministic random tensors.
public func randomTensor(_ shape: [Int], seed: UInt64 = 7, scale: Float = 1) -> Tensor {
    var rng = RandomSource(seed: seed)
    let count = shape.reduce(1, *)
    return Tensor(shape: shape, storage: (0..<count).map { _ in (rng.nextUniform() * 2 - 1) * scale })
}

/// Raw sgemm, `C[m,n] = A[m,k]·B[k,n]`, straight to OpenBLAS through `GEMM.sgemm`.
public func sgemmWorkload(_ name: String, m: Int, n: Int, k: Int) -> Workload {
    Workload(name: name, group: .sgemm, flops: 2 * Double(m) * Double(n) * Double(k)) {
        let a = UnsafeMutablePointer<Float>.allocate(capacity: m * k)
        let b = UnsafeMutablePointer<Float>.allocate(capacity: k * n)
        let c = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
        var rng = RandomSource(seed: 3)
        for i in 0..<(m * k) { a[i] = rng.nextUniform() }
        for i in 0..<(k * n) { b[i] = rng.nextUniform() }
        c.initialize(repeating: 0, count: m * n)
        let box = PointerBox(a: a, b: b, c: c)
        return {
            GEMM.sgemm(m: m, n: n, k: k, a: box.a, lda: k, b: box.b, ldb: n, c: box.c, ldc: n)
        }
    }
}

/// Leaked on purpose: a benchmark process lives for the run, and freeing on deinit would race
/// the closure's last call.
struct PointerBox: @unchecked Sendable {
    let a: UnsafeMutablePointer<Float>
    let b: UnsafeMutablePointer<Float>
    let c: UnsafeMutablePointer<Float>
}

struct Unchecked<T>: @unchecked Sendable { let value: T }

// MARK: - Layer descriptions

/// A conv or dense layer of one of the paper's models, at a given batch size.
public struct LayerCase: Sendable {
    public enum Kind: Sendable {
        case conv(c: Int, f: Int, k: Int, h: Int, w: Int)
        case convTranspose(c: Int, f: Int, k: Int, h: Int, w: Int)
        case dense(inFeatures: Int, outFeatures: Int)
    }
    public let model: String
    public let kind: Kind

    public var label: String {
        switch kind {
        case let .conv(c, f, k, h, w): "\(model) conv\(k)x\(k) \(c)→\(f) @\(h)x\(w)"
        case let .convTranspose(c, f, k, h, w): "\(model) convT\(k)x\(k) \(c)→\(f) @\(h)x\(w)"
        case let .dense(i, o): "\(model) dense \(i)→\(o)"
        }
    }

    /// Forward FLOPs at batch `n`.
    public func forwardFLOPs(batch n: Int) -> Double {
        switch kind {
        case let .conv(c, f, k, h, w), let .convTranspose(c, f, k, h, w):
            2 * Double(n * h * w) * Double(k * k) * Double(c) * Double(f)
        case let .dense(i, o):
            2 * Double(n) * Double(i) * Double(o)
        }
    }

    /// The sgemm shape of one forward block (`ComputeSettings.blockRows(rowLength:)` rows of the
    /// column block for a conv, the whole batch for a dense layer): the best the layer can do if
    /// the GEMM itself is the limit. Convolutions that narrow (F < C) run in the col2im form
    /// (`k·k·F` output columns, inner dimension C), the others in the im2col form.
    public func forwardGEMMShape(batch n: Int) -> (m: Int, n: Int, k: Int) {
        let settings = ComputeSettings.current
        switch kind {
        case let .conv(c, f, k, h, w), let .convTranspose(c, f, k, h, w):
            if f < c {
                let rows = max(1, settings.blockRows(rowLength: k * k * f) / (h * w)) * h * w
                return (min(rows, n * h * w), k * k * f, c)
            }
            return (min(settings.blockRows(rowLength: k * k * c), n * h * w), f, k * k * c)
        case let .dense(i, o): return (n, o, i)
        }
    }

    func makeLayer() -> any Layer {
        var rng = RandomSource(seed: 11)
        switch kind {
        case let .conv(c, f, k, _, _): return Conv2D(inChannels: c, outChannels: f, kernel: k, name: "l", rng: &rng)
        case let .convTranspose(c, f, k, _, _):
            return ConvTranspose2D(inChannels: c, outChannels: f, kernel: k, name: "l", rng: &rng)
        case let .dense(i, o): return Dense(inFeatures: i, outFeatures: o, name: "l", rng: &rng)
        }
    }

    func inputShape(batch n: Int) -> [Int] {
        switch kind {
        case let .conv(c, _, _, h, w), let .convTranspose(c, _, _, h, w): [n, h, w, c]
        case let .dense(i, _): [n, i]
        }
    }

    func outputShape(batch n: Int) -> [Int] {
        switch kind {
        case let .conv(_, f, _, h, w), let .convTranspose(_, f, _, h, w): [n, h, w, f]
        case let .dense(_, o): [n, o]
        }
    }

    /// Forward pass (inference, no cache).
    public func forwardWorkload(batch n: Int) -> Workload {
        Workload(name: "\(label) fwd b\(n)", group: .layer, flops: forwardFLOPs(batch: n), items: n) {
            let layer = Unchecked(value: makeLayer())
            let x = randomTensor(inputShape(batch: n))
            return {
                var ctx = ForwardContext.inference(seed: 1)
                consume(layer.value.forward(x, context: &ctx).output)
            }
        }
    }

    /// Backward pass: weight gradient + input gradient (2× forward FLOPs).
    public func backwardWorkload(batch n: Int) -> Workload {
        Workload(name: "\(label) bwd b\(n)", group: .layer, flops: 2 * forwardFLOPs(batch: n), items: n) {
            let layer = Unchecked(value: makeLayer())
            let x = randomTensor(inputShape(batch: n))
            let dy = randomTensor(outputShape(batch: n), seed: 9)
            var ctx = ForwardContext(training: true, rng: RandomSource(seed: 1), recordsCache: true)
            let cache = layer.value.forward(x, context: &ctx).cache
            let grads = Unchecked(value: GradientStore())   // one benchmark thread uses it
            return {
                grads.value.reset()
                consume(layer.value.backward(dy, cache: cache, gradients: grads.value))
            }
        }
    }
}

public enum PaperLayers {
    public static let mnistClassifier: [LayerCase] = [
        .init(model: "mnist-cls", kind: .conv(c: 1, f: 32, k: 5, h: 28, w: 28)),
        .init(model: "mnist-cls", kind: .conv(c: 32, f: 64, k: 5, h: 14, w: 14)),
        .init(model: "mnist-cls", kind: .dense(inFeatures: 3136, outFeatures: 1024)),
        .init(model: "mnist-cls", kind: .dense(inFeatures: 1024, outFeatures: 10)),
    ]
    public static let cifarClassifier: [LayerCase] = [
        .init(model: "cifar-cls", kind: .conv(c: 3, f: 32, k: 3, h: 32, w: 32)),
        .init(model: "cifar-cls", kind: .conv(c: 32, f: 32, k: 3, h: 32, w: 32)),
        .init(model: "cifar-cls", kind: .conv(c: 32, f: 64, k: 3, h: 16, w: 16)),
        .init(model: "cifar-cls", kind: .conv(c: 64, f: 64, k: 3, h: 16, w: 16)),
        .init(model: "cifar-cls", kind: .conv(c: 64, f: 128, k: 3, h: 8, w: 8)),
        .init(model: "cifar-cls", kind: .conv(c: 128, f: 128, k: 3, h: 8, w: 8)),
    ]
    public static let cifarVAE: [LayerCase] = [
        .init(model: "cifar-vae", kind: .dense(inFeatures: 4096, outFeatures: 1024)),
        .init(model: "cifar-vae", kind: .dense(inFeatures: 1024, outFeatures: 4096)),
    ]
    /// `PaperArchitectures.patchVAE(patch: 8, channels: 3, latent: 128, width: 2)`.
    public static let patchVAE: [LayerCase] = [
        .init(model: "patch-vae", kind: .conv(c: 3, f: 64, k: 3, h: 8, w: 8)),
        .init(model: "patch-vae", kind: .conv(c: 64, f: 32, k: 3, h: 8, w: 8)),
        .init(model: "patch-vae", kind: .conv(c: 32, f: 16, k: 3, h: 4, w: 4)),
        .init(model: "patch-vae", kind: .dense(inFeatures: 256, outFeatures: 128)),
        .init(model: "patch-vae", kind: .dense(inFeatures: 128, outFeatures: 256)),
        .init(model: "patch-vae", kind: .convTranspose(c: 16, f: 16, k: 3, h: 4, w: 4)),
        .init(model: "patch-vae", kind: .convTranspose(c: 16, f: 32, k: 3, h: 4, w: 4)),
        .init(model: "patch-vae", kind: .convTranspose(c: 32, f: 64, k: 3, h: 8, w: 8)),
        .init(model: "patch-vae", kind: .convTranspose(c: 64, f: 3, k: 3, h: 8, w: 8)),
    ]
    public static var all: [LayerCase] { mnistClassifier + cifarClassifier + cifarVAE + patchVAE }
}

// MARK: - Whole models

/// Forward FLOPs per item of a chain of layers (conv, transposed conv, dense; the element-wise
/// layers are not counted).
public func forwardFLOPs(_ seq: Sequential) -> Double {
    var shape = seq.inputShape
    var total = 0.0
    for layer in seq.layers {
        let out = (try? layer.outputShape(for: shape)) ?? shape
        if let conv = layer as? Conv2D {
            total += 2 * Double(out[0] * out[1] * conv.kernel * conv.kernel * conv.inChannels * conv.outChannels)
        } else if let conv = layer as? ConvTranspose2D {
            total += 2 * Double(out[0] * out[1] * conv.kernel * conv.kernel * conv.inChannels * conv.outChannels)
        } else if let dense = layer as? Dense {
            total += 2 * Double(dense.inFeatures * dense.outFeatures)
        }
        shape = out
    }
    return total
}

/// Forward FLOPs per item from an architecture description (no weights are built). A convolution
/// followed by `subsample2` counts only the pixels it keeps: the engine runs the pair as one
/// stride-2 convolution (`Residual`).
public func forwardFLOPs(architecture a: ModelArchitecture) -> Double {
    func chain(_ specs: [LayerSpec], _ input: [Int]) -> (Double, [Int]) {
        var shape = input, total = 0.0
        for (i, spec) in specs.enumerated() {
            switch spec {
            case let .conv2d(c, f, k):
                let strided = i + 1 < specs.count && specs[i + 1] == .subsample2
                let (h, w) = strided ? ((shape[0] + 1) / 2, (shape[1] + 1) / 2) : (shape[0], shape[1])
                total += 2 * Double(h * w * k * k * c * f)
                shape = [shape[0], shape[1], f]
            case let .convTranspose2d(c, f, k):
                total += 2 * Double(shape[0] * shape[1] * k * k * c * f)
                shape = [shape[0], shape[1], f]
            case let .dense(i, o):
                total += 2 * Double(i * o)
                shape = [o]
            case .maxPool2: shape = [shape[0] / 2, shape[1] / 2, shape[2]]
            case .upsample2: shape = [shape[0] * 2, shape[1] * 2, shape[2]]
            case .flatten: shape = [shape.reduce(1, *)]
            case .reshape(let s): shape = s
            case let .residual(body, shortcut):
                let (b, out) = chain(body, shape), (s, _) = chain(shortcut, shape)
                total += b + s
                shape = out
            case .subsample2: shape = [(shape[0] + 1) / 2, (shape[1] + 1) / 2, shape[2]]
            case .globalAveragePool: shape = [shape[2]]
            default: break
            }
        }
        return (total, shape)
    }
    if let layers = a.layers { return chain(layers, a.inputShape).0 }
    let (enc, features) = chain(a.encoder ?? [], a.inputShape)
    let latent = a.latentDimension ?? 0
    let (dec, _) = chain(a.decoder ?? [], [latent])
    return enc + 2 * 2 * Double(features.reduce(1, *) * latent) + dec
}

public func forwardFLOPs(_ vae: VariationalAutoencoder) -> Double {
    forwardFLOPs(vae.encoder) + 2 * 2 * Double(vae.meanHead.inFeatures * vae.latentDimension) + forwardFLOPs(vae.decoder)
}

public enum PaperModels {
    public static func classifier(_ arch: ModelArchitecture) -> Sequential {
        guard case .classifier(let s) = try! Network(architecture: arch, seed: 5) else { fatalError("not a classifier") }
        return s
    }
    public static func vae(_ arch: ModelArchitecture) -> VariationalAutoencoder {
        guard case .vae(let v) = try! Network(architecture: arch, seed: 5) else { fatalError("not a VAE") }
        return v
    }
    public static var patchVAEArchitecture: ModelArchitecture {
        PaperArchitectures.patchVAE(patch: 8, channels: 3, latent: 128, width: 2)
    }

    public static func classifierWorkload(_ name: String, _ arch: ModelArchitecture, batch n: Int) -> Workload {
        Workload(name: "\(name) forward b\(n)", group: .model, flops: Double(n) * forwardFLOPs(architecture: arch), items: n) {
            let x = randomTensor([n] + arch.inputShape, scale: 0.5)
            let m = Unchecked(value: classifier(arch))
            return {
                var ctx = ForwardContext.inference(seed: 1)
                consume(m.value(x, context: &ctx))
            }
        }
    }

    public static func vaeWorkload(_ name: String, _ arch: ModelArchitecture, batch n: Int) -> Workload {
        Workload(name: "\(name) reconstruct b\(n)", group: .model, flops: Double(n) * forwardFLOPs(architecture: arch), items: n) {
            let x = randomTensor([n] + arch.inputShape, scale: 0.5)
            let m = Unchecked(value: vae(arch))
            return {
                var ctx = ForwardContext.inference(seed: 1)
                consume(m.value.reconstruct(x, sampling: .sample, context: &ctx))
            }
        }
    }
}

// MARK: - Purification

public enum PurificationCases {
    /// Whole-image VAE purification of `batch` images.
    public static func vae(_ name: String, _ arch: ModelArchitecture, batch n: Int) -> Workload {
        let side = arch.inputShape[0]
        return Workload(name: "\(name) VAE \(side)x\(side) b\(n)", group: .purification,
                        flops: Double(n) * forwardFLOPs(architecture: arch), items: n, pixelsPerItem: side * side) {
            let purifier = VAEPurifier(vae: PaperModels.vae(arch))
            let x = randomTensor([n] + arch.inputShape, scale: 0.5)
            return {
                var rng = RandomSource(seed: 2)
                consume(try! purifier.purify(x, rng: &rng))
            }
        }
    }

    /// Patch-VAE purification of one `side`×`side` RGB image, stride `stride`, with the
    /// engine's chunks handed to the cores by `dispatch`.
    public static func patch(side: Int, stride: Int = 4, dispatch: DispatchStrategy = ComputeSettings.defaults.dispatch) -> Workload {
        let grid = PatchGrid(length: side, patch: 8, stride: stride)
        let patches = grid.starts.count * grid.starts.count
        let suffix = dispatch == ComputeSettings.defaults.dispatch ? "" : " (\(dispatch.rawValue))"
        return Workload(name: "patch VAE \(side)x\(side) stride \(stride)\(suffix)", group: .purification,
                        flops: Double(patches) * forwardFLOPs(architecture: PaperModels.patchVAEArchitecture),
                        items: 1, pixelsPerItem: side * side) {
            let vae = PaperModels.vae(PaperModels.patchVAEArchitecture)
            let purifier = try! BenchSettings.patchBatch.map { try PatchVAEPurifier(vae: vae, stride: stride, batchSize: $0) }
                ?? PatchVAEPurifier(vae: vae, stride: stride)
            let x = randomTensor([1, side, side, 3], scale: 0.5)
            return {
                var settings = ComputeSettings.current
                settings.dispatch = dispatch
                ComputeSettings.$current.withValue(settings) {
                    var rng = RandomSource(seed: 2)
                    consume(try! purifier.purify(x, rng: &rng))
                }
            }
        }
    }
}

// MARK: - Codecs

public enum CodecCases {
    /// A 299×299 RGB test picture: smooth gradients, a few shapes and mild noise, so that both
    /// codecs see photo-like statistics (pure noise would make PNG pathological).
    public static func testImage(side: Int = 299) -> Image {
        var rng = RandomSource(seed: 17)
        var pixels = [UInt8](repeating: 0, count: side * side * 3)
        for y in 0..<side {
            for x in 0..<side {
                let dx = Double(x - side / 2), dy = Double(y - side / 3)
                let disc = dx * dx + dy * dy < Double(side * side) / 16
                let base = [Double(x) / Double(side) * 200, Double(y) / Double(side) * 180,
                            disc ? 220 : 60 + 40 * sin(Double(x + y) / 23)]
                for ch in 0..<3 {
                    let noise = Double(rng.nextUniform() * 12 - 6)
                    pixels[(y * side + x) * 3 + ch] = UInt8(max(0, min(255, base[ch] + noise)))
                }
            }
        }
        return try! Image(width: side, height: side, channels: 3, pixels: pixels)
    }

    public static var all: [Workload] {
        [
            Workload(name: "PNG encode 299x299 RGB", group: .codec, pixelsPerItem: 299 * 299) {
                let image = testImage()
                return { consume(try! image.pngData()) }
            },
            Workload(name: "PNG decode 299x299 RGB", group: .codec, pixelsPerItem: 299 * 299) {
                let bytes = try! testImage().pngData()
                return { consume(try! ImageDecoder.decode(bytes)) }
            },
            Workload(name: "JPEG encode 299x299 RGB q75", group: .codec, pixelsPerItem: 299 * 299) {
                let image = testImage()
                return { consume(try! image.jpegData()) }
            },
            Workload(name: "JPEG decode 299x299 RGB q75", group: .codec, pixelsPerItem: 299 * 299) {
                let bytes = try! testImage().jpegData()
                return { consume(try! ImageDecoder.decode(bytes)) }
            },
        ]
    }
}

// MARK: - Catalogue

public enum Catalogue {
    /// Raw sgemm: square 1024 and the forward GEMM shape of every conv/dense layer at batch 64.
    public static var sgemm: [Workload] {
        var list = [sgemmWorkload("sgemm 1024x1024x1024", m: 1024, n: 1024, k: 1024)]
        var seen = Set<String>()
        for layer in PaperLayers.all {
            let s = layer.forwardGEMMShape(batch: 64)
            let key = "sgemm \(s.m)x\(s.n)x\(s.k)"
            if seen.insert(key).inserted {
                list.append(sgemmWorkload("\(key) (\(layer.label))", m: s.m, n: s.n, k: s.k))
            }
        }
        return list
    }

    public static var layers: [Workload] {
        var list: [Workload] = []
        for layer in PaperLayers.all {
            list.append(layer.forwardWorkload(batch: 64))
            list.append(layer.backwardWorkload(batch: 64))
        }
        // The patch purifier feeds the patch VAE 512 patches at a time.
        for layer in PaperLayers.patchVAE { list.append(layer.forwardWorkload(batch: 512)) }
        return list
    }

    public static var models: [Workload] {
        [
            PaperModels.classifierWorkload("mnist-cls", PaperArchitectures.mnistClassifier(), batch: 1),
            PaperModels.classifierWorkload("mnist-cls", PaperArchitectures.mnistClassifier(), batch: 64),
            PaperModels.classifierWorkload("cifar-cls", PaperArchitectures.cifarClassifier(), batch: 1),
            PaperModels.classifierWorkload("cifar-cls", PaperArchitectures.cifarClassifier(), batch: 64),
            PaperModels.vaeWorkload("mnist-vae", PaperArchitectures.mnistVAE(), batch: 1),
            PaperModels.vaeWorkload("mnist-vae", PaperArchitectures.mnistVAE(), batch: 64),
            PaperModels.vaeWorkload("cifar-vae", PaperArchitectures.cifarVAE(), batch: 1),
            PaperModels.vaeWorkload("cifar-vae", PaperArchitectures.cifarVAE(), batch: 64),
            PaperModels.vaeWorkload("patch-vae", PaperModels.patchVAEArchitecture, batch: 64),
            PaperModels.vaeWorkload("patch-vae", PaperModels.patchVAEArchitecture, batch: 512),
        ]
    }

    public static var purification: [Workload] {
        [
            PurificationCases.vae("mnist", PaperArchitectures.mnistVAE(), batch: 1),
            PurificationCases.vae("mnist", PaperArchitectures.mnistVAE(), batch: 64),
            PurificationCases.vae("cifar", PaperArchitectures.cifarVAE(), batch: 1),
            PurificationCases.vae("cifar", PaperArchitectures.cifarVAE(), batch: 64),
            PurificationCases.patch(side: 299),
            PurificationCases.patch(side: 299, dispatch: .concurrentPerform),
            PurificationCases.patch(side: 1024),
            PurificationCases.patch(side: 299, stride: 8),
            PurificationCases.patch(side: 1024, stride: 8),
        ]
    }

    public static var all: [Workload] {
        sgemm + TrainingCases.weightGradientGEMMs + layers + models + TrainingCases.all + ServingCases.all + CertificationCases.all + purification + CodecCases.all + [HTTPRoundTrip.workload]
            + DispatchCases.all
    }
}
