import Foundation

/// `x` divided by its L2 norm along the last axis (+1e-6 under the root, so a zero row stays finite).
public func l2Normalised(_ x: Tensor) -> Tensor {
    x / ((x * x).sum(axis: -1, keepDims: true) + 1e-6).sqrt()
}

/// CLIP's symmetric InfoNCE between paired rows of `a` and `b` [B, dim]: both L2-normalised,
/// scores s = scale · â·b̂ᵀ, loss = (CE(s, diagonal) + CE(sᵀ, diagonal)) / 2 — pair i is the
/// positive of row i and every other row of the batch a negative.
public func symmetricInfoNCE(_ a: Tensor, _ b: Tensor, scale: Float) -> Tensor {
    precondition(a.rank == 2 && a.shape == b.shape, "symmetricInfoNCE: a \(a.shape) and b \(b.shape) must be the same [B, dim]")
    let an = l2Normalised(a), bn = l2Normalised(b)
    let diagonal = Array(0..<a.shape[0])
    let ab = crossEntropy(logits: matmul(an, bn, transposeB: true) * scale, targets: diagonal)
    let ba = crossEntropy(logits: matmul(bn, an, transposeB: true) * scale, targets: diagonal)
    return (ab + ba) * 0.5
}
