import Engine

/// L∞ sign-gradient attacks: FGSM (one step of ε), I-FGSM / BIM (the paper's setting: 10 steps
/// of ε/10, no random start) and PGD (random start uniform in the ε-ball).
///
/// Every step: `x ← x + α·sign(∇_x L)`, then projection onto `[x₀−ε, x₀+ε]` and clipping to
/// [0, 1] (cleverhans' `BasicIterativeMethod` order). `sign(0) = 0` as in numpy. The result is
/// the last iterate.
public struct LinfAttack: Sendable, Equatable {
    public var epsilon: Float
    public var steps: Int
    public var stepSize: Float
    public var randomStart: Bool

    public init(epsilon: Float, steps: Int, stepSize: Float, randomStart: Bool) {
        self.epsilon = epsilon
        self.steps = steps
        self.stepSize = stepSize
        self.randomStart = randomStart
    }

    /// FGSM: one step of size ε.
    public static func fgsm(epsilon: Float) -> LinfAttack {
        LinfAttack(epsilon: epsilon, steps: 1, stepSize: epsilon, randomStart: false)
    }

    /// I-FGSM / BIM as in the paper's code: `steps` steps of ε/steps (default 10).
    public static func iterativeFGSM(epsilon: Float, steps: Int = 10) -> LinfAttack {
        LinfAttack(epsilon: epsilon, steps: steps, stepSize: epsilon / Float(steps), randomStart: false)
    }

    /// PGD (Madry et al.): random start, `steps` steps of `stepFactor·ε/steps` (default 40
    /// steps of 2.5·ε/40, so the walk can cross the ball and back).
    public static func pgd(epsilon: Float, steps: Int = 40, stepFactor: Float = 2.5) -> LinfAttack {
        LinfAttack(epsilon: epsilon, steps: steps, stepSize: stepFactor * epsilon / Float(steps), randomStart: true)
    }

    /// Runs the attack on `x` `[N, H, W, C]`, ascending the cross-entropy of `labels`.
    public func perturb(_ x: Tensor, labels: [Int], target: any AttackTarget, rng: inout RandomSource) -> Tensor {
        var adv = x
        if randomStart {
            for i in 0..<adv.count { adv.storage[i] += epsilon * (2 * rng.nextUniform() - 1) }
            Self.project(&adv, around: x, epsilon: epsilon)
        }
        for _ in 0..<steps {
            let g = target.lossGradient(adv, loss: .crossEntropy, labels: labels, rng: &rng).gradient
            adv.storage.withUnsafeMutableBufferPointer { a in
                g.storage.withUnsafeBufferPointer { d in
                    for i in 0..<a.count { a[i] += d[i] > 0 ? stepSize : (d[i] < 0 ? -stepSize : 0) }
                }
            }
            Self.project(&adv, around: x, epsilon: epsilon)
        }
        return adv
    }

    /// Projects onto the ε-ball around `origin` and clips to [0, 1].
    public static func project(_ adv: inout Tensor, around origin: Tensor, epsilon: Float) {
        adv.storage.withUnsafeMutableBufferPointer { a in
            origin.storage.withUnsafeBufferPointer { o in
                for i in 0..<a.count {
                    let v = min(max(a[i], o[i] - epsilon), o[i] + epsilon)
                    a[i] = min(max(v, 0), 1)
                }
            }
        }
    }
}
