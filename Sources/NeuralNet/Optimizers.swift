import Foundation
import Engine

/// An optimiser updates parameters in place from a `GradientStore`.
public protocol Optimizer: AnyObject {
    var learningRate: Float { get set }
    func step(_ parameters: [Parameter], gradients: GradientStore)
    /// The optimiser's moving state, keyed `"<slot>/<parameter name>"`, for checkpoints.
    func exportState(_ parameters: [Parameter]) -> [String: Tensor]
    /// Restores what `exportState` produced (missing entries start from zero).
    func importState(_ state: [String: Tensor], parameters: [Parameter])
}

/// Adam (Kingma & Ba) with optional L2 weight decay added to the gradient (`g + λ·w`, the
/// Keras kernel-regulariser formulation, not AdamW).
public final class Adam: Optimizer {
    public var learningRate: Float
    public let beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float
    private var m: [ObjectIdentifier: [Float]] = [:]
    private var v: [ObjectIdentifier: [Float]] = [:]
    private var t = 0

    public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-7,
                weightDecay: Float = 0) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    public func step(_ parameters: [Parameter], gradients: GradientStore) {
        t += 1
        let c1 = 1 - powf(beta1, Float(t)), c2 = 1 - powf(beta2, Float(t))
        let lr = learningRate * c2.squareRoot() / c1
        for p in parameters {
            guard let g = gradients.gradient(for: p) else { continue }
            let key = ObjectIdentifier(p)
            var mm = m[key] ?? [Float](repeating: 0, count: p.value.count)
            var vv = v[key] ?? [Float](repeating: 0, count: p.value.count)
            let decay = p.value.shape.count > 1 ? weightDecay : 0   // no decay on biases / BN
            p.value.storage.withUnsafeMutableBufferPointer { w in
                g.storage.withUnsafeBufferPointer { gp in
                    for i in 0..<w.count {
                        let gi = gp[i] + decay * w[i]
                        mm[i] = beta1 * mm[i] + (1 - beta1) * gi
                        vv[i] = beta2 * vv[i] + (1 - beta2) * gi * gi
                        w[i] -= lr * mm[i] / (vv[i].squareRoot() + epsilon)
                    }
                }
            }
            m[key] = mm
            v[key] = vv
        }
    }

    public func exportState(_ parameters: [Parameter]) -> [String: Tensor] {
        var out: [String: Tensor] = ["step": Tensor(shape: [1], storage: [Float(t)])]
        for p in parameters {
            let key = ObjectIdentifier(p)
            if let mm = m[key] { out["m/\(p.name)"] = Tensor(shape: p.shape, storage: mm) }
            if let vv = v[key] { out["v/\(p.name)"] = Tensor(shape: p.shape, storage: vv) }
        }
        return out
    }

    public func importState(_ state: [String: Tensor], parameters: [Parameter]) {
        t = Int(state["step"]?.storage.first ?? 0)
        for p in parameters {
            let key = ObjectIdentifier(p)
            if let mm = state["m/\(p.name)"], mm.count == p.value.count { m[key] = mm.storage }
            if let vv = state["v/\(p.name)"], vv.count == p.value.count { v[key] = vv.storage }
        }
    }
}

/// SGD with (heavy-ball) momentum and L2 weight decay: `v ← μv - lr(g + λw)`, `w ← w + v`.
public final class SGD: Optimizer {
    public var learningRate: Float
    public let momentum: Float, weightDecay: Float
    private var velocity: [ObjectIdentifier: [Float]] = [:]

    public init(learningRate: Float, momentum: Float = 0.9, weightDecay: Float = 0) {
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
    }

    public func step(_ parameters: [Parameter], gradients: GradientStore) {
        for p in parameters {
            guard let g = gradients.gradient(for: p) else { continue }
            let key = ObjectIdentifier(p)
            var vel = velocity[key] ?? [Float](repeating: 0, count: p.value.count)
            let decay = p.value.shape.count > 1 ? weightDecay : 0
            p.value.storage.withUnsafeMutableBufferPointer { w in
                for i in 0..<w.count {
                    vel[i] = momentum * vel[i] - learningRate * (g.storage[i] + decay * w[i])
                    w[i] += vel[i]
                }
            }
            velocity[key] = vel
        }
    }

    public func exportState(_ parameters: [Parameter]) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for p in parameters {
            if let vel = velocity[ObjectIdentifier(p)] { out["velocity/\(p.name)"] = Tensor(shape: p.shape, storage: vel) }
        }
        return out
    }

    public func importState(_ state: [String: Tensor], parameters: [Parameter]) {
        for p in parameters {
            if let vel = state["velocity/\(p.name)"], vel.count == p.value.count { velocity[ObjectIdentifier(p)] = vel.storage }
        }
    }
}

/// Step learning-rate schedule: the base rate times `gamma` for each milestone epoch passed.
public struct StepSchedule: Sendable, Codable, Equatable {
    public var baseRate: Float
    public var milestones: [Int]
    public var gamma: Float

    public init(baseRate: Float, milestones: [Int] = [], gamma: Float = 0.1) {
        self.baseRate = baseRate
        self.milestones = milestones
        self.gamma = gamma
    }

    /// Learning rate for a zero-based epoch.
    public func rate(epoch: Int) -> Float {
        baseRate * powf(gamma, Float(milestones.filter { epoch >= $0 }.count))
    }
}
