import Attacks
import Engine
import Models
import NeuralNet

/// One step of adversarial training as `vaeguard train classifier --adversarial fgsm-rs` runs it
/// (`AdversarialStep.accumulate` + `optimizer.step`): FGSM-RS makes the batch (random start,
/// one forward + input-gradient backward in inference mode), then one training forward +
/// backward with parameter gradients and an SGD update (momentum 0.9, weight decay 5e-4).
///
/// FLOPs: 5 × the forward FLOPs (attack: forward + input gradient; training: forward + input
/// and weight gradients), with `forwardFLOPs(architecture:)` counting a "same" conv followed by
/// `subsample2` at its output resolution (a stride-2 conv): the work the step needs, not the work
/// an implementation does, so rows of different implementations compare.
public enum TrainingCases {
    public static func fgsmRSStep(_ name: String, _ arch: ModelArchitecture, batch n: Int,
                                  epsilon: Float = 8 / 255) -> Workload {
        Workload(name: "\(name) fgsm-rs train step b\(n)", group: .model,
                 flops: 5 * Double(n) * forwardFLOPs(architecture: arch), items: n) {
            let model = PaperModels.classifier(arch)
            var rng = RandomSource(seed: 21)
            let x = Tensor(shape: [n] + arch.inputShape,
                           storage: (0..<(n * arch.inputShape.reduce(1, *))).map { _ in rng.nextUniform() })
            let labels = (0..<n).map { $0 % 10 }
            let attack = LinfAttack(epsilon: epsilon, steps: 1, stepSize: 1.25 * epsilon, randomStart: true)
            // A small rate: the benchmark runs many steps on one batch and must not diverge.
            let state = Unchecked(value: (optimizer: SGD(learningRate: 0.01, momentum: 0.9, weightDecay: 5e-4),
                                          gradients: GradientStore(), model: model))
            return {
                let (optimizer, gradients, model) = state.value
                var rng = RandomSource(seed: 3)
                let adv = attack.perturb(x, labels: labels, target: ClassifierTarget(classifier: model), rng: &rng)
                var context = ForwardContext(training: true, rng: RandomSource(seed: 4))
                gradients.reset()
                let (logits, caches) = model.forward(adv, context: &context)
                let (loss, grad) = Losses.softmaxCrossEntropy(logits: logits, labels: labels)
                consume(model.backward(grad, caches: caches, gradients: gradients))
                optimizer.step(model.parameters, gradients: gradients)
                consume(loss)
            }
        }
    }

    public static var all: [Workload] {
        [fgsmRSStep("preact18-w32", RobustArchitectures.preActResNet18(width: 32), batch: 128)]
    }
}

/// The weight-gradient GEMM of a convolution, `dW[k·k·C, F] += colᵀ · dy` over `k` rows, in
/// the engine's form (`transposed: false`, col transposed) or as `dWᵀ[F, k·k·C] = dyᵀ · col`.
public func weightGradientGEMMWorkload(kkc: Int, f: Int, rows: Int, transposed: Bool) -> Workload {
    Workload(name: "sgemm dW \(transposed ? "dyᵀ·col" : "colᵀ·dy") \(kkc)x\(f) k\(rows)", group: .sgemm,
             flops: 2 * Double(kkc) * Double(f) * Double(rows)) {
        let col = UnsafeMutablePointer<Float>.allocate(capacity: rows * kkc)
        let dy = UnsafeMutablePointer<Float>.allocate(capacity: rows * f)
        let dw = UnsafeMutablePointer<Float>.allocate(capacity: kkc * f)
        var rng = RandomSource(seed: 3)
        for i in 0..<(rows * kkc) { col[i] = rng.nextUniform() }
        for i in 0..<(rows * f) { dy[i] = rng.nextUniform() }
        dw.initialize(repeating: 0, count: kkc * f)
        let box = PointerBox(a: col, b: dy, c: dw)
        return {
            if transposed {
                GEMM.sgemm(transA: true, m: f, n: kkc, k: rows, a: box.b, lda: f, b: box.a, ldb: kkc, beta: 1, c: box.c, ldc: kkc)
            } else {
                GEMM.sgemm(transA: true, m: kkc, n: f, k: rows, a: box.a, lda: kkc, b: box.b, ldb: f, beta: 1, c: box.c, ldc: f)
            }
        }
    }
}

extension TrainingCases {
    /// The weight-gradient GEMM shapes of preact18-w32 in both forms.
    public static var weightGradientGEMMs: [Workload] {
        [(288, 32), (576, 64), (1152, 128), (2304, 256)].flatMap { kkc, f in
            [512, 2048].flatMap { rows in
                [false, true].map { weightGradientGEMMWorkload(kkc: kkc, f: f, rows: rows, transposed: $0) }
            }
        }
    }
}
