import Foundation

/// `x` divided by its L2 norm along the last axis (+1e-6 under the root, so a zero row stays finite).
public func l2Normalised(_ x: Tensor) -> Tensor {
    x / ((x * x).sum(axis: -1, keepDims: true) + 1e-6).sqrt()
}

/// CLIP's symmetric InfoNCE between paired rows of `a` and `b` [B, dim]: both L2-normalised,
/// scores s = scale · â·b̂ᵀ, loss = (CE(s, diagonal) + CE(sᵀ, diagonal)) / 2 — pair i is the
/// positive of row i and every other row of the batch a negative.
///
/// `groups` (one id per pair) removes false negatives: pairs with the same id (e.g. two answers
/// "left" to two different pictures) are not each other's negatives — their scores are left out of
/// both softmaxes, as `scores.masked_fill(same_group & ~eye, -inf)` does in PyTorch.
public func symmetricInfoNCE(_ a: Tensor, _ b: Tensor, scale: Float, groups: [Int]? = nil) -> Tensor {
    precondition(a.rank == 2 && a.shape == b.shape, "symmetricInfoNCE: a \(a.shape) and b \(b.shape) must be the same [B, dim]")
    let n = a.shape[0]
    precondition(groups == nil || groups!.count == n, "symmetricInfoNCE: \(groups!.count) groups for \(n) pairs")
    let an = l2Normalised(a), bn = l2Normalised(b)
    let diagonal = Array(0..<n)
    var ab = matmul(an, bn, transposeB: true) * scale
    var ba = matmul(bn, an, transposeB: true) * scale
    if let groups, Set(groups).count < n {
        // Symmetric, so one mask serves both directions; a finite "minus infinity" keeps every
        // row's maximum finite (the diagonal is never masked).
        var mask = [Float](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n where i != j && groups[i] == groups[j] { mask[i * n + j] = -1e30 } }
        let m = Tensor(shape: [n, n], data: mask)
        ab = ab + m
        ba = ba + m
    }
    return (crossEntropy(logits: ab, targets: diagonal) + crossEntropy(logits: ba, targets: diagonal)) * 0.5
}
