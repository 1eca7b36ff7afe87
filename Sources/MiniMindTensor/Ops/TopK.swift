import Foundation

/// The k largest values along the last axis, in descending order, with their indices.
///
/// x [..., n] → values [..., k] and indices (flat, row-major [..., k]). Ties go to the lower index
/// first (a stable order; `torch.topk` leaves tie order unspecified, it returns this order on small
/// CPU inputs). NaN counts as larger than every number, as in PyTorch.
/// Values are differentiable: the gradient is scattered back to the chosen positions.
public func topK(_ x: Tensor, k: Int) -> (values: Tensor, indices: [Int]) {
    precondition(x.rank >= 1, "topK: input must have at least one axis, got \(x.shape)")
    let n = x.shape[x.rank - 1]
    precondition(k >= 0 && k <= n, "topK: k = \(k) out of range for last axis \(n) of \(x.shape)")
    let rows = n == 0 ? 0 : x.count / n
    let values = Tensor.uninitialized(Array(x.shape.dropLast()) + [k])
    var indices = [Int](repeating: 0, count: rows * k)
    let xp = x.pointer, vp = values.mutablePointer
    indices.withUnsafeMutableBufferPointer { ib in
        guard let ip = ib.baseAddress else { return }
        Threads.parallelFor(rows, minChunk: Swift.max(1, 16_384 / Swift.max(n, 1))) { range in
            var scratch = [Int](repeating: 0, count: k)
            for r in range {
                TopKKernel.select(xp + r * n, count: n, k: k, into: &scratch)
                for j in 0..<k {
                    ip[r * k + j] = scratch[j]
                    vp[r * k + j] = xp[r * n + scratch[j]]
                }
            }
        }
    }
    let chosen = indices
    let out = Tensor.record("topK", output: values, inputs: [x]) { g in
        let gx = Tensor.zeros(x.shape)
        let gp = g.pointer, o = gx.mutablePointer
        for r in 0..<rows { for j in 0..<k { o[r * n + chosen[r * k + j]] += gp[r * k + j] } }
        return [gx]
    }
    return (out, indices)
}

enum TopKKernel {
    /// True when value a at index ia ranks before value b at index ib.
    @inline(__always)
    static func ranksBefore(_ a: Float, _ ia: Int, _ b: Float, _ ib: Int) -> Bool {
        if a.isNaN || b.isNaN {
            if a.isNaN && b.isNaN { return ia < ib }
            return a.isNaN
        }
        return a > b || (a == b && ia < ib)
    }

    /// Writes the indices of the k best entries of x[0..<count], best first.
    static func select(_ x: UnsafePointer<Float>, count n: Int, k: Int, into best: inout [Int]) {
        if k == 0 { return }
        if k <= 32 {
            // Insertion into a sorted list of k: O(n·k), fastest for routing (k of 1–8).
            var filled = 0
            for i in 0..<n {
                let v = x[i]
                if filled == k && !ranksBefore(v, i, x[best[k - 1]], best[k - 1]) { continue }
                var pos = Swift.min(filled, k - 1)
                while pos > 0 && ranksBefore(v, i, x[best[pos - 1]], best[pos - 1]) {
                    best[pos] = best[pos - 1]
                    pos -= 1
                }
                best[pos] = i
                if filled < k { filled += 1 }
            }
        } else {
            let order = (0..<n).sorted { ranksBefore(x[$0], $0, x[$1], $1) }
            for j in 0..<k { best[j] = order[j] }
        }
    }
}
