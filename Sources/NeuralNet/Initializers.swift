import Engine

/// Weight initialisation. Glorot (Xavier) uniform is Keras's default, used by the paper's code.
enum Initializers {
    /// Uniform in ±sqrt(6 / (fanIn + fanOut)).
    static func glorotUniform(shape: [Int], fanIn: Int, fanOut: Int, rng: inout RandomSource) -> Tensor {
        let limit = (6 / Float(fanIn + fanOut)).squareRoot()
        let n = shape.reduce(1, *)
        var values = [Float](repeating: 0, count: n)
        for i in 0..<n { values[i] = (rng.nextUniform() * 2 - 1) * limit }
        return Tensor(shape: shape, storage: values)
    }
}
