import Foundation

/// Scales all gradients together so their global L2 norm is at most `maxNorm`, like
/// `torch.nn.utils.clip_grad_norm_(params, maxNorm)`: the norm is taken over every gradient
/// (parameters without one are ignored), accumulated in Double; the scale is
/// `maxNorm / (norm + 1e-6)` in Float and applied only when it is below 1.
/// Returns the norm before clipping (NaN or infinity when a gradient is not finite; the gradients
/// are then scaled by NaN as in PyTorch, so a trainer should check the returned norm).
@discardableResult
public func clipGradNorm(_ parameters: [Tensor], maxNorm: Float) -> Float {
    precondition(maxNorm > 0, "clipGradNorm: maxNorm must be > 0, got \(maxNorm)")
    var seen = Set<ObjectIdentifier>()
    // A tied parameter listed twice is counted (and scaled) once.
    let grads = parameters.compactMap { p -> Tensor? in
        guard let g = p.grad, seen.insert(ObjectIdentifier(p)).inserted else { return nil }
        return g
    }
    return clipGradNorm(pieces: grads.map { ($0.mutablePointer, $0.count) }, maxNorm: maxNorm) { $0 }
}

/// `clipGradNorm` for ZeRO-1 (`OptimizerShard`): every rank holds the whole averaged gradients but
/// updates only `ranges[i]` of parameter i, so it sums the squares of those ranges, `sumOverRanks`
/// adds the ranks' sums (one scalar allreduce) and only the ranges are scaled. The norm is the
/// global one; it can differ from the unsharded sum in the last bits of the Double accumulation.
@discardableResult
public func clipGradNorm(_ parameters: [Tensor], ranges: [Range<Int>], maxNorm: Float,
                         sumOverRanks: (Double) throws -> Double) rethrows -> Float {
    precondition(maxNorm > 0, "clipGradNorm: maxNorm must be > 0, got \(maxNorm)")
    precondition(ranges.count == parameters.count, "clipGradNorm: \(ranges.count) ranges for \(parameters.count) parameters")
    let pieces = zip(parameters, ranges).compactMap { p, r -> (UnsafeMutablePointer<Float>, Int)? in
        guard let g = p.grad, !r.isEmpty else { return nil }
        precondition(r.upperBound <= g.count, "clipGradNorm: range \(r) past a gradient of \(g.count)")
        return (g.mutablePointer + r.lowerBound, r.count)
    }
    return try clipGradNorm(pieces: pieces, maxNorm: maxNorm, sumOverRanks: sumOverRanks)
}

/// The norm of the pieces (summed in Double, then over the ranks), and their scaling when it is over `maxNorm`.
private func clipGradNorm(pieces: [(UnsafeMutablePointer<Float>, Int)], maxNorm: Float,
                          sumOverRanks: (Double) throws -> Double) rethrows -> Float {
    var sumSquares = 0.0
    for (p, n) in pieces { sumSquares += Kernels.parallelSumSquaresDouble(p, count: n) }
    sumSquares = try sumOverRanks(sumSquares)
    let norm = Float(sumSquares.squareRoot())
    let coefficient = maxNorm / (norm + 1e-6)
    if !(coefficient < 1) && !coefficient.isNaN { return norm }
    for (p, n) in pieces { Kernels.scaleInPlace(p, coefficient, count: n) }
    return norm
}

/// `clipGradNorm` over named parameters (as returned by `Module.namedParameters`).
@discardableResult
public func clipGradNorm(_ parameters: [(String, Tensor)], maxNorm: Float) -> Float {
    clipGradNorm(parameters.map { $0.1 }, maxNorm: maxNorm)
}
