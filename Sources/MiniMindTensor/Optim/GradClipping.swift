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
    var sumSquares = 0.0
    for g in grads { sumSquares += Kernels.sumSquaresDouble(g.pointer, count: g.count) }
    let norm = Float(sumSquares.squareRoot())
    let coefficient = maxNorm / (norm + 1e-6)
    if !(coefficient < 1) && !coefficient.isNaN { return norm }
    for g in grads { Kernels.scaleInPlace(g.mutablePointer, coefficient, count: g.count) }
    return norm
}

/// `clipGradNorm` over named parameters (as returned by `Module.namedParameters`).
@discardableResult
public func clipGradNorm(_ parameters: [(String, Tensor)], maxNorm: Float) -> Float {
    clipGradNorm(parameters.map { $0.1 }, maxNorm: maxNorm)
}
