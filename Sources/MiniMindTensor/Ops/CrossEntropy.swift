import Foundation

/// How per-token losses are combined.
public enum LossReduction: Sendable {
    /// Mean over counted (non-ignored) tokens. With no counted token the loss is 0 with a zero
    /// gradient (PyTorch returns NaN there; a batch of pure padding should not poison training).
    case mean
    /// Sum over counted tokens.
    case sum
    /// One loss per row, shaped like the logits without their last axis; ignored rows are 0.
    case none
}

/// Cross-entropy of `logits` [..., V] against class ids `targets` (one per row, row-major), fused
/// with its softmax: each row is read once for max, once (from cache) for exp and the gradient.
/// Rows whose target is `ignoreIndex` count for nothing. Targets outside 0..<V stop the program
/// with the row, the target and V (targets come from our own data pipeline, not from users).
///
/// With gradients on, the reduced forms write dL/dlogits = (softmax − onehot)·scale during the
/// forward pass (llm.c style), so backward is a scale by the incoming gradient or nothing at all.
/// `labelSmoothing` (PyTorch's ε) and `weights` (one per row) are defined in SmoothedCrossEntropy.swift.
public func crossEntropy(logits: Tensor, targets: [Int], ignoreIndex: Int = -100,
                         reduction: LossReduction = .mean, labelSmoothing: Float = 0, weights: [Float]? = nil) -> Tensor {
    opRequire(logits.rank >= 1, "crossEntropy: logits must be [..., vocab], got shape \(logits.shape)")
    let v = logits.shape[logits.rank - 1]
    let rows = v == 0 ? 0 : logits.count / v
    opRequire(targets.count == rows,
              "crossEntropy: \(targets.count) targets for \(rows) rows of logits \(logits.shape)")
    var counted = 0
    for (r, t) in targets.enumerated() where t != ignoreIndex {
        opRequire(t >= 0 && t < v, "crossEntropy: target \(t) at row \(r) is outside 0..<\(v) (ignoreIndex \(ignoreIndex))")
        counted += 1
    }
    if labelSmoothing != 0 || weights != nil {
        return weightedSmoothedCrossEntropy(logits: logits, targets: targets, ignoreIndex: ignoreIndex, reduction: reduction,
                                            labelSmoothing: labelSmoothing, weights: weights)
    }
    if reduction == .none {
        return perTokenCrossEntropy(logits, targets: targets, ignoreIndex: ignoreIndex, rows: rows, vocab: v)
    }

    let scale: Float = reduction == .mean ? 1 / Float(Swift.max(counted, 1)) : 1
    let wantsGrad = GradMode.isEnabled && logits.needsGrad
    let grad: Tensor? = wantsGrad ? Tensor.uninitialized(logits.shape) : nil
    var losses = [Float](repeating: 0, count: rows)
    let xp = logits.pointer, dp = grad?.mutablePointer
    targets.withUnsafeBufferPointer { tp in
        losses.withUnsafeMutableBufferPointer { lp in
            Threads.parallelFor(rows, minChunk: SoftmaxKernels.rowChunk(v)) { range in
                for r in range {
                    let t = tp[r]
                    if t == ignoreIndex {
                        dp.map { ($0 + r * v).update(repeating: 0, count: v) }
                        continue
                    }
                    if let dp {
                        lp[r] = CrossEntropyKernels.rowLossAndGradient(xp + r * v, dp + r * v, count: v, target: t, scale: scale)
                    } else {
                        lp[r] = CrossEntropyKernels.rowLoss(xp + r * v, count: v, target: t)
                    }
                }
            }
        }
    }
    // Ordered Double sum: the same loss for any thread count.
    var total = 0.0
    for l in losses { total += Double(l) }
    let out = Tensor(scalar: Float(total * Double(scale)))
    guard let grad else { return out }
    return Tensor.record("crossEntropy", output: out, inputs: [logits]) { g in
        let k = g.item
        if k != 1 { Kernels.scaleInPlace(grad.mutablePointer, k, count: grad.count) }
        return [grad]
    }
}

/// Per-row losses; backward recomputes softmax from the saved row max and log-sum.
private func perTokenCrossEntropy(_ logits: Tensor, targets: [Int], ignoreIndex: Int, rows: Int, vocab v: Int) -> Tensor {
    let out = Tensor.zeros(Array(logits.shape.dropLast()))
    var maxes = [Float](repeating: 0, count: rows), logSums = [Float](repeating: 0, count: rows)
    let xp = logits.pointer, op = out.mutablePointer
    targets.withUnsafeBufferPointer { tp in
        maxes.withUnsafeMutableBufferPointer { mp in
            logSums.withUnsafeMutableBufferPointer { sp in
                Threads.parallelFor(rows, minChunk: SoftmaxKernels.rowChunk(v)) { range in
                    for r in range where tp[r] != ignoreIndex {
                        let x = xp + r * v
                        let m = VectorMath.rowMax(x, count: v)
                        mp[r] = m
                        sp[r] = CrossEntropyKernels.rowLogSumExp(x, count: v, shift: m)
                        op[r] = sp[r] - (x[tp[r]] - m)
                    }
                }
            }
        }
    }
    return Tensor.record("crossEntropy(none)", output: out, inputs: [logits]) { g in
        let gx = Tensor.uninitialized(logits.shape)
        let gp = g.pointer, dp = gx.mutablePointer
        Threads.parallelFor(rows, minChunk: SoftmaxKernels.rowChunk(v)) { range in
            for r in range {
                let d = dp + r * v, t = targets[r]
                if t == ignoreIndex { d.update(repeating: 0, count: v); continue }
                CrossEntropyKernels.rowGradient(xp + r * v, d, count: v, target: t, max: maxes[r], logSum: logSums[r], g: gp[r])
            }
        }
        return [gx]
    }
}

enum CrossEntropyKernels {
    typealias V = VectorMath.V

    // Row kernels are @inline(never) on purpose: each is a small function into which the SIMD helpers
    // (max, exp, scale) are reliably inlined; inside a large closure the inliner gives up on them.

    /// log Σ exp(x − shift) for one row.
    @inline(never)
    static func rowLogSumExp(_ x: UnsafePointer<Float>, count n: Int, shift: Float) -> Float {
        Foundation.log(VectorMath.rowSumExp(x, count: n, shift: shift))
    }

    /// Loss of one row: log Σ exp(x − max) − (x[target] − max).
    @inline(never)
    static func rowLoss(_ x: UnsafePointer<Float>, count n: Int, target: Int) -> Float {
        let m = VectorMath.rowMax(x, count: n)
        return Foundation.log(VectorMath.rowSumExp(x, count: n, shift: m)) - (x[target] - m)
    }

    /// Loss of one row; `d` receives (softmax − onehot(target))·scale.
    @inline(never)
    static func rowLossAndGradient(_ x: UnsafePointer<Float>, _ d: UnsafeMutablePointer<Float>, count n: Int,
                                   target: Int, scale: Float) -> Float {
        let m = VectorMath.rowMax(x, count: n)
        let sum = SoftmaxKernels.expShiftedRow(x, d, count: n, shift: m)
        SoftmaxKernels.scaleRow(d, count: n, by: scale / sum)
        d[target] -= scale
        return Foundation.log(sum) - (x[target] - m)
    }

    /// d = (exp((x − max) − logSum) − onehot(target))·g for one row (per-token backward).
    @inline(never)
    static func rowGradient(_ x: UnsafePointer<Float>, _ d: UnsafeMutablePointer<Float>, count n: Int,
                            target: Int, max m: Float, logSum: Float, g: Float) {
        let shift = V(repeating: m), ls = V(repeating: logSum), gv = V(repeating: g)
        var i = 0
        while i + 16 <= n {
            VectorMath.store(VectorMath.expNonPositive((VectorMath.load(x, i) - shift) - ls) * gv, d, i)
            i += 16
        }
        while i < n { d[i] = Foundation.exp((x[i] - m) - logSum) * g; i += 1 }
        d[target] -= g
    }
}
