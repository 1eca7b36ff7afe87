import Foundation

/// Rows of `weight` [V, D] picked by `ids`: the result is [ids.count, D].
/// Backward scatter-adds into dW (repeated ids accumulate), only when the weight needs a gradient.
/// An id outside 0..<V stops the program naming the id, its position and V (ids come from our tokenizer).
public func embedding(ids: [Int], weight: Tensor) -> Tensor {
    embedding(ids: ids, shape: [ids.count], weight: weight)
}

/// Embedding with the ids' own shape: `shape` [B, T] gives [B, T, D].
public func embedding(ids: [Int], shape: [Int], weight: Tensor) -> Tensor {
    opRequire(weight.rank == 2, "embedding: weight must be [vocab, dim], got \(weight.shape)")
    opRequire(Tensor.elementCount(shape) == ids.count, "embedding: shape \(shape) holds \(Tensor.elementCount(shape)) ids, got \(ids.count)")
    let vocab = weight.shape[0], d = weight.shape[1]
    for (i, id) in ids.enumerated() {
        opRequire(id >= 0 && id < vocab, "embedding: id \(id) at position \(i) is outside the vocabulary 0..<\(vocab)")
    }
    let out = Tensor.uninitialized(shape + [d])
    let wp = weight.pointer, op = out.mutablePointer
    ids.withUnsafeBufferPointer { ip in
        Threads.parallelFor(ids.count, minChunk: Swift.max(1, 16_384 / Swift.max(d, 1))) { range in
            for r in range { (op + r * d).update(from: wp + ip[r] * d, count: d) }
        }
    }
    return Tensor.record("embedding", output: out, inputs: [weight]) { g in
        let gw = Tensor.zeros(weight.shape)
        let gp = g.pointer, dp = gw.mutablePointer
        // Threads own disjoint column ranges and walk the ids in order: no races, and each dW entry
        // sums its contributions in position order whatever the thread count.
        ids.withUnsafeBufferPointer { ip in
            Threads.parallelFor(d, minChunk: Swift.max(16, (1 << 16) / Swift.max(ids.count, 1))) { cols in
                for (r, id) in ip.enumerated() {
                    let src = gp + r * d + cols.lowerBound, dst = dp + id * d + cols.lowerBound
                    for j in 0..<cols.count { dst[j] += src[j] }
                }
            }
        }
        return [gw]
    }
}
