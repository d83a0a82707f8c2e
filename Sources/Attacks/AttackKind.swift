import Engine

/// The attacks of the evaluation grid and how ε is read for each.
public enum AttackKind: String, Sendable, Codable, CaseIterable, Comparable {
    case fgsm, ifgsm, pgd, cw

    /// `linf` for the sign-gradient attacks; `l2` for CW, whose ε is an L2 radius.
    public var norm: String { self == .cw ? "l2" : "linf" }

    /// Whether the attack itself draws random numbers (PGD's start). FGSM, I-FGSM and CW are
    /// deterministic on a deterministic target, so their images are shared across seeds.
    public var isRandomised: Bool { self == .pgd }

    /// The paper's ε grids (paper-notes §3): `linspace(0.005, 0.12, 20)` on MNIST and
    /// `linspace(0.005, 0.1, 15)` on CIFAR-10. PGD uses a coarser L∞ grid; CW (not in the paper)
    /// uses L2 radii.
    public func paperEpsilons(dataset: String) -> [Float] {
        func linspace(_ a: Double, _ b: Double, _ n: Int) -> [Float] {
            (0..<n).map { Float(((a + (b - a) * Double($0) / Double(n - 1)) * 1e6).rounded() / 1e6) }
        }
        let mnist = dataset == "mnist"
        switch self {
        case .fgsm, .ifgsm: return mnist ? linspace(0.005, 0.12, 20) : linspace(0.005, 0.1, 15)
        case .pgd: return mnist ? [0.05, 0.1, 0.2, 0.3] : [2.0 / 255, 4.0 / 255, 8.0 / 255, 16.0 / 255]
        case .cw: return mnist ? [0.5, 1, 1.5, 2, 3] : [0.1, 0.25, 0.5, 1]
        }
    }

    public static func < (a: AttackKind, b: AttackKind) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// Attack hyper-parameters beyond ε (recorded with every result).
public struct AttackSettings: Sendable, Codable, Equatable {
    public var ifgsmSteps = 10
    public var pgdSteps = 40
    /// PGD step = `pgdStepFactor · ε / pgdSteps`.
    public var pgdStepFactor: Float = 2.5
    public var cw = CarliniWagnerL2()
    /// EOT draws per gradient for stochastic defenses under adaptive attack.
    public var eotSamples = 10

    public init() {}

    /// Runs `kind` at `epsilon` on `target`.
    public func run(_ kind: AttackKind, epsilon: Float, x: Tensor, labels: [Int], target: any AttackTarget,
                    rng: inout RandomSource) -> Tensor {
        switch kind {
        case .fgsm: return LinfAttack.fgsm(epsilon: epsilon).perturb(x, labels: labels, target: target, rng: &rng)
        case .ifgsm:
            return LinfAttack.iterativeFGSM(epsilon: epsilon, steps: ifgsmSteps).perturb(x, labels: labels, target: target, rng: &rng)
        case .pgd:
            return LinfAttack.pgd(epsilon: epsilon, steps: pgdSteps, stepFactor: pgdStepFactor)
                .perturb(x, labels: labels, target: target, rng: &rng)
        case .cw:
            let minimal = cw.perturb(x, labels: labels, target: target, rng: &rng)
            return CarliniWagnerL2.projectL2(minimal, around: x, radius: epsilon)
        }
    }
}

