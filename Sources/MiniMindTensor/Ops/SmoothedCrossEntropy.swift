import Foundation

/// Cross-entropy with label smoothing and per-row weights (PyTorch's
/// `CrossEntropyLoss(label_smoothing: ε, ignore_index:)` times a weight per row):
///
///     loss_r = (1 − ε)·(lse_r − x_r[t]) + ε·(lse_r − mean_j x_r[j])     (lse = log Σ exp x)
///     total  = Σ_counted w_r · loss_r · scale,   scale = 1 / counted rows (`.mean`) or 1 (`.sum`)
///
/// and dL/dx_r = w_r·scale·(softmax(x_r) − (1 − ε)·onehot(t) − ε/V). With ε = 0 and every weight 1
/// it is `crossEntropy`'s value; `crossEntropy` routes here only when one of them is set, so the
/// plain path keeps its fused kernel. `.mean` divides by the counted rows, not by Σw: a weight
/// moves a token's pull on the gradient, as a per-token learning rate would, and a batch whose
/// weights are all 2 has twice the loss.
func weightedSmoothedCrossEntropy(logits: Tensor, targets: [Int], ignoreIndex: Int, reduction: LossReduction,
                                  labelSmoothing eps: Float, weights: [Float]?) -> Tensor {
    let v = logits.shape[logits.rank - 1]
    let rows = v == 0 ? 0 : logits.count / v
    opRequire(reduction != .none, "crossEntropy: labelSmoothing and weights need reduction .mean or .sum")
    opRequire(eps >= 0 && eps <= 1, "crossEntropy: labelSmoothing \(eps) is outside [0, 1]")
    if let weights { opRequire(weights.count == rows, "crossEntropy: \(weights.count) weights for \(rows) rows") }
    let counted = targets.reduce(0) { $0 + ($1 == ignoreIndex ? 0 : 1) }
    let scale: Float = reduction == .mean ? 1 / Float(Swift.max(counted, 1)) : 1
    let wantsGrad = GradMode.isEnabled && logits.needsGrad
    let grad: Tensor? = wantsGrad ? Tensor.uninitialized(logits.shape) : nil
    var losses = [Double](repeating: 0, count: rows)
    let xp = logits.pointer, dp = grad?.mutablePointer
    let smoothShare = eps / Float(Swift.max(v, 1))
    targets.withUnsafeBufferPointer { tp in
        losses.withUnsafeMutableBufferPointer { lp in
            Threads.parallelFor(rows, minChunk: SoftmaxKernels.rowChunk(v)) { range in
                for r in range {
                    let t = tp[r], x = xp + r * v
                    let w = weights?[r] ?? 1
                    if t == ignoreIndex || w == 0 {
                        dp.map { ($0 + r * v).update(repeating: 0, count: v) }
                        continue
                    }
                    let m = VectorMath.rowMax(x, count: v)
                    var sumX = 0.0
                    for j in 0..<v { sumX += Double(x[j]) }
                    let sum: Float
                    if let dp {
                        let d = dp + r * v
                        sum = SoftmaxKernels.expShiftedRow(x, d, count: v, shift: m)
                        let k = w * scale
                        SoftmaxKernels.scaleRow(d, count: v, by: k / sum)
                        if smoothShare != 0 { for j in 0..<v { d[j] -= k * smoothShare } }
                        d[t] -= k * (1 - eps)
                    } else {
                        sum = VectorMath.rowSumExp(x, count: v, shift: m)
                    }
                    let lse = Double(Foundation.log(sum)) + Double(m)
                    let row = Double(1 - eps) * (lse - Double(x[t])) + Double(eps) * (lse - sumX / Double(v))
                    lp[r] = Double(w) * row
                }
            }
        }
    }
    // Ordered Double sum: the same loss for any thread count.
    var total = 0.0
    for l in losses { total += l }
    let out = Tensor(scalar: Float(total * Double(scale)))
    guard let grad else { return out }
    return Tensor.record("crossEntropy(smoothed, weighted)", output: out, inputs: [logits]) { g in
        let k = g.item
        if k != 1 { Kernels.scaleInPlace(grad.mutablePointer, k, count: grad.count) }
        return [grad]
    }
}
