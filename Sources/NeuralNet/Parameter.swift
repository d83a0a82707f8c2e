import Engine

/// A named, trainable (or buffer) tensor owned by a layer.
///
/// A class so the optimiser can update a layer's weights in place. Concurrency contract:
/// inference only *reads* `value`, from any number of threads; the optimiser and BatchNorm's
/// running statistics *write* it, and only during training, when no inference runs on the same
/// model.
// Why unchecked: the contract above; inference reads `value` lock-free on many threads, and a lock per read would slow the hot path.
public final class Parameter: @unchecked Sendable {
    public let name: String
    /// The tensor. Every write, in-place ones included (optimisers, BatchNorm statistics),
    /// bumps `generation`. A `_modify` accessor rather than `didSet`: with `didSet` an in-place
    /// write (`value.storage.withUnsafeMutableBufferPointer`) copied the whole tensor first.
    public var value: Tensor {
        _read { yield storedValue }
        _modify {
            generation &+= 1
            yield &storedValue
        }
    }
    private var storedValue: Tensor

    /// Changes whenever `value` is written: copies derived from the weights (a float16 copy
    /// for batch-1 products) are rebuilt when it differs from the one they were made from.
    public private(set) var generation: UInt64 = 0

    public init(name: String, value: Tensor) {
        self.name = name
        storedValue = value
    }

    public var shape: [Int] { value.shape }
}

/// Per-backward-pass accumulator of parameter gradients, keyed by parameter identity.
///
/// Separate from `Parameter` so that concurrent backward passes (attacks computing input
/// gradients on several threads) never share mutable state; pass `nil` to skip parameter
/// gradients entirely when only the input gradient is wanted.
public final class GradientStore {
    private var grads: [ObjectIdentifier: Tensor] = [:]

    public init() {}

    /// Adds `grad` into the accumulator of `parameter`.
    public func accumulate(_ grad: Tensor, for parameter: Parameter) {
        let key = ObjectIdentifier(parameter)
        if grads[key] == nil {
            grads[key] = grad
        } else {
            grads[key]!.add(grad)
        }
    }

    /// The gradient accumulated for `parameter`, if any.
    public func gradient(for parameter: Parameter) -> Tensor? { grads[ObjectIdentifier(parameter)] }

    public func reset() { grads.removeAll(keepingCapacity: true) }
}
