import Foundation

/// Scales all gradients together so their global L2 norm is at most `maxNorm`, like
/// `torch.nn.utils.clip_grad_norm_(params, maxNorm)`: the norm is taken over every gradient
/// (parameters without one are ignored), accumulated in Double; the scale is
/// `maxNorm / (norm + 1e-6)` in Float and applied only when it is below 1.
/// Returns the norm before clipping (NaN or infinity when a gradient is not finite; the gradients
/// are then scaled by NaN as in PyTorch, so a trainer should check the returned norm).
@discardableResult
public func clipGradNorm(_ parameters: [Tensor], maxNorm: Float) -> Float {
    let clip = gradientClip(parameters, maxNorm: maxNorm)
    clip.apply(to: parameters)
    return clip.norm
}

/// The global gradient norm and the factor `clipGradNorm` would scale the gradients by, without
/// scaling them: `AdamW.step(gradientScale:)` applies the factor as it reads each gradient, which
/// saves a read and a write of every gradient per step and gives the same update bits (the same
/// Float product `g · scale`, taken in the optimizer's pass instead of a pass of its own).
public struct GradientClip: Sendable {
    /// The norm before clipping (NaN or infinity when a gradient is not finite).
    public let norm: Float
    /// `maxNorm / (norm + 1e-6)` when it is below 1 (or NaN); nil when the gradients stay as they are.
    public let scale: Float?

    init(norm: Float, maxNorm: Float) {
        self.norm = norm
        let coefficient = maxNorm / (norm + 1e-6)
        scale = coefficient < 1 || coefficient.isNaN ? coefficient : nil
    }

    /// Scales the gradients of `parameters` (each tensor once) in place, as `clipGradNorm` does.
    public func apply(to parameters: [Tensor]) { apply(to: gradientPieces(parameters)) }

    /// Scales these stretches of gradients in place (the ranged, ZeRO-1 form's owned ranges).
    func apply(to pieces: [(UnsafeMutablePointer<Float>, Int)]) {
        guard let scale else { return }
        for (p, n) in pieces { Kernels.scaleInPlace(p, scale, count: n) }
    }
}

/// `clipGradNorm`'s norm and factor, the gradients left unscaled (see `GradientClip`).
public func gradientClip(_ parameters: [Tensor], maxNorm: Float) -> GradientClip {
    precondition(maxNorm > 0, "gradientClip: maxNorm must be > 0, got \(maxNorm)")
    return GradientClip(norm: globalNorm(gradientPieces(parameters)) { $0 }, maxNorm: maxNorm)
}

/// Each gradient once: a tied parameter listed twice is counted (and scaled) once.
private func gradientPieces(_ parameters: [Tensor]) -> [(UnsafeMutablePointer<Float>, Int)] {
    var seen = Set<ObjectIdentifier>()
    return parameters.compactMap { p in
        guard let g = p.grad, seen.insert(ObjectIdentifier(p)).inserted else { return nil }
        return (g.mutablePointer, g.count)
    }
}

/// `clipGradNorm` for ZeRO-1 (`OptimizerShard`): every rank holds the whole averaged gradients but
/// updates only `ranges[i]` of parameter i, so it sums the squares of those ranges, `sumOverRanks`
/// adds the ranks' sums (one scalar allreduce) and only the ranges are scaled. The norm is the
/// global one; it can differ from the unsharded sum in the last bits of the Double accumulation.
@discardableResult
public func clipGradNorm(_ parameters: [Tensor], ranges: [Range<Int>], maxNorm: Float,
                         sumOverRanks: (Double) throws -> Double) rethrows -> Float {
    let clip = try gradientClip(parameters, ranges: ranges, maxNorm: maxNorm, sumOverRanks: sumOverRanks)
    clip.apply(to: rangedPieces(parameters, ranges))
    return clip.norm
}

/// `gradientClip` for ZeRO-1: the global norm as the ranged `clipGradNorm` takes it, the ranges
/// left unscaled (`AdamW.step(gradientScale:)` scales what it reads of its owned ranges).
public func gradientClip(_ parameters: [Tensor], ranges: [Range<Int>], maxNorm: Float,
                         sumOverRanks: (Double) throws -> Double) rethrows -> GradientClip {
    precondition(maxNorm > 0, "gradientClip: maxNorm must be > 0, got \(maxNorm)")
    return GradientClip(norm: try globalNorm(rangedPieces(parameters, ranges), sumOverRanks: sumOverRanks), maxNorm: maxNorm)
}

private func rangedPieces(_ parameters: [Tensor], _ ranges: [Range<Int>]) -> [(UnsafeMutablePointer<Float>, Int)] {
    precondition(ranges.count == parameters.count, "clipGradNorm: \(ranges.count) ranges for \(parameters.count) parameters")
    return zip(parameters, ranges).compactMap { p, r -> (UnsafeMutablePointer<Float>, Int)? in
        guard let g = p.grad, !r.isEmpty else { return nil }
        precondition(r.upperBound <= g.count, "clipGradNorm: range \(r) past a gradient of \(g.count)")
        return (g.mutablePointer + r.lowerBound, r.count)
    }
}

/// The L2 norm of the pieces, their squares summed in Double, then over the ranks.
private func globalNorm(_ pieces: [(UnsafeMutablePointer<Float>, Int)], sumOverRanks: (Double) throws -> Double) rethrows -> Float {
    var sumSquares = 0.0
    for (p, n) in pieces { sumSquares += Kernels.parallelSumSquaresDouble(p, count: n) }
    sumSquares = try sumOverRanks(sumSquares)
    return Float(sumSquares.squareRoot())
}

/// `clipGradNorm` over named parameters (as returned by `Module.namedParameters`).
@discardableResult
public func clipGradNorm(_ parameters: [(String, Tensor)], maxNorm: Float) -> Float {
    clipGradNorm(parameters.map { $0.1 }, maxNorm: maxNorm)
}
