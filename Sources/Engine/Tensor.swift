/// A dense float32 tensor with an explicit shape, stored row-major.
///
/// Image tensors use **NHWC** layout (batch, height, width, channels). Why NHWC: a convolution
/// lowered with im2col then produces a `[N·H·W, k·k·C]` matrix whose product with the
/// `[k·k·C, F]` weight matrix is directly the NHWC output, so a whole batch is one large GEMM
/// with no transposes; it is also the channels-last layout of the paper's Keras code, so the
/// reference weights and fixtures map over without permutation.
///
/// Storage is a Swift array, so copies are copy-on-write and a `Tensor` is a value: safe to
/// share between threads, which the concurrent inference paths rely on.
public struct Tensor: Sendable, Equatable {
    public private(set) var shape: [Int]
    public var storage: [Float]

    /// Creates a tensor from a shape and matching storage.
    public init(shape: [Int], storage: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        precondition(shape.reduce(1, *) == storage.count,
                     "shape \(shape) needs \(shape.reduce(1, *)) elements, got \(storage.count)")
        self.shape = shape
        self.storage = storage
    }

    /// A tensor filled with `value`.
    public init(shape: [Int], repeating value: Float = 0) {
        self.init(shape: shape, storage: [Float](repeating: value, count: shape.reduce(1, *)))
    }

    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(shape: shape) }

    /// Number of elements.
    @inlinable public var count: Int { storage.count }
    /// Size of the leading (batch) dimension.
    @inlinable public var batchSize: Int { shape.first ?? 1 }
    /// Elements per batch item.
    public var itemCount: Int { shape.count > 1 ? shape.dropFirst().reduce(1, *) : 1 }

    /// The same data under another shape with the same element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, storage: storage)
    }

    /// Reshape in place.
    public mutating func reshape(_ newShape: [Int]) {
        precondition(newShape.reduce(1, *) == storage.count, "cannot reshape \(shape) to \(newShape)")
        shape = newShape
    }

    /// Items `range` of the batch dimension, as a new tensor.
    public func batch(_ range: Range<Int>) -> Tensor {
        let n = itemCount
        var s = shape
        s[0] = range.count
        return Tensor(shape: s, storage: Array(storage[(range.lowerBound * n)..<(range.upperBound * n)]))
    }

    /// Items at `indices` of the batch dimension, gathered into a new tensor.
    public func gather(_ indices: [Int]) -> Tensor {
        let n = itemCount
        var out = [Float](repeating: 0, count: indices.count * n)
        storage.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for (j, i) in indices.enumerated() {
                    precondition(i >= 0 && i < batchSize, "batch index \(i) out of range")
                    dst.baseAddress!.advanced(by: j * n).update(from: src.baseAddress!.advanced(by: i * n), count: n)
                }
            }
        }
        var s = shape
        s[0] = indices.count
        return Tensor(shape: s, storage: out)
    }

    /// Concatenates tensors along the batch dimension.
    public static func concatenate(_ parts: [Tensor]) -> Tensor {
        precondition(!parts.isEmpty, "concatenate needs at least one tensor")
        let tail = Array(parts[0].shape.dropFirst())
        var storage: [Float] = []
        storage.reserveCapacity(parts.reduce(0) { $0 + $1.count })
        var n = 0
        for p in parts {
            precondition(Array(p.shape.dropFirst()) == tail, "concatenate: shape \(p.shape) does not match \(tail)")
            storage.append(contentsOf: p.storage)
            n += p.batchSize
        }
        return Tensor(shape: [n] + tail, storage: storage)
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let head = storage.prefix(6).map { String(format: "%.4f", $0) }.joined(separator: ", ")
        return "Tensor(\(shape), [\(head)\(count > 6 ? ", …" : "")])"
    }
}

import Foundation
