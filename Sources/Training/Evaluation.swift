import Engine
import NeuralNet
import Datasets

/// Accuracy measurements shared by training and `vaeguard evaluate`.
public enum Evaluation {
    /// Top-1 accuracy of `model` on `data` (inference mode), optionally after `transform`
    /// (e.g. a purifier) is applied to each batch.
    public static func accuracy(_ model: Sequential, on data: LabeledImages, batchSize: Int = 500,
                                transform: ((Tensor) -> Tensor)? = nil) -> Double {
        var correct = 0
        var context = ForwardContext.inference(seed: 0)
        for lo in stride(from: 0, to: data.count, by: batchSize) {
            let (x, y) = data.batch(Array(lo..<min(lo + batchSize, data.count)))
            let input = transform?(x) ?? x
            let predictions = model(input, context: &context).argmaxPerItem()
            correct += zip(predictions, y).filter { $0 == $1 }.count
        }
        return Double(correct) / Double(max(1, data.count))
    }
}
