import Engine
import NeuralNet

/// Top-1 predictions of a classifier over a large batch, in mini-batches spread evenly over
/// workers (`MiniBatches.balanced`; inference needs no noise, so the split never changes the result).
enum BatchedPredictions {
    static func top1(_ classifier: Sequential, _ x: Tensor, batchSize bs: Int, workers: Int) -> [Int] {
        let n = x.batchSize
        let plan = MiniBatches.balanced(count: n, maxSize: bs, workers: workers)
        var out = [Int](repeating: 0, count: n)
        out.withUnsafeMutableBufferPointer { buffer in
            Parallel.forEachChunk(count: plan.batches, maxChunks: workers) { range in
                for bi in range {
                    let (lo, hi) = (plan.range(bi).lowerBound, plan.range(bi).upperBound)
                    var context = ForwardContext.inference(seed: 0)
                    let p = classifier(x.batch(lo..<hi), context: &context).argmaxPerItem()
                    for j in 0..<p.count { buffer[lo + j] = p[j] }
                }
            }
        }
        return out
    }
}
