import Foundation

/// y = x·Wᵀ + b with PyTorch's weight layout W [out, in]. `x` is [..., in]; leading axes fold into
/// one GEMM. A frozen W (or b) costs no gradient GEMM; the input gradient still flows.
///
/// In bf16 (`Compute.precision`), each operand is rounded once per step, not once per product:
/// x for the forward product and the weight gradient (shared with the other Linears reading the
/// same recorded x, e.g. q/k/v), the output gradient for both backward products. The products read
/// the same rounded values as when each rounds its own inputs, so results are the same bits. An
/// input or output gradient that already carries its copy (`Tensor.bfloat16Copy`, written by the op
/// that made it) is not rounded again.
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
    linear(x, weight: weight, bias: bias, roundedInput: nil)
}

/// `linear` given x already rounded to bfloat16 (`BFloat16Bits.rounded` of x's values), read when
/// the forward product runs in bf16: an inference caller rounds one input once for the several
/// products that read it (an encoder's q, k and v projections).
func linear(_ x: Tensor, weight: Tensor, bias: Tensor?, roundedInput: BFloat16Bits.Buffer?) -> Tensor {
    precondition(weight.rank == 2, "linear: weight must be [out, in], got \(weight.shape)")
    let outF = weight.shape[0], inF = weight.shape[1]
    precondition(x.rank >= 1 && x.shape[x.rank - 1] == inF,
                 "linear: input \(x.shape) does not end in in_features \(inF) of weight \(weight.shape)")
    if let bias { precondition(bias.shape == [outF], "linear: bias \(bias.shape) does not match out_features \(outF)") }
    let rows = x.count / Swift.max(inF, 1)
    let out = Tensor.uninitialized(Array(x.shape.dropLast()) + [outF])
    let o = out.mutablePointer
    var beta: Float = 0
    if let bias {
        // Across the pool: on one thread the other waited for this fill (an image's fc1: 2.4 MB).
        let b = bias.pointer
        Threads.parallelFor(rows, minChunk: SoftmaxKernels.rowChunk(outF)) { range in
            for r in range { (o + r * outF).update(from: b, count: outF) }
        }
        beta = 1
    }
    let recording = GradMode.isEnabled && (x.needsGrad || weight.needsGrad || bias?.needsGrad == true)
    let forwardBF16 = GEMMRoute.usesBF16(m: rows, n: outF, k: inF, alpha: 1, beta: beta)
    let weightGradientBF16 = recording && weight.needsGrad && GEMMRoute.usesBF16(m: outF, n: inF, k: rows, alpha: 1, beta: 0)
    let x16 = forwardBF16 || weightGradientBF16 ? roundedInput ?? LinearRounding.input(x, shared: recording) : nil
    BLAS.gemm(transB: true, m: rows, n: outF, k: inF, a: x.pointer, b: weight.pointer, beta: beta, c: o, roundedA: x16, roundedB: nil)
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    let savedX16 = weightGradientBF16 ? x16 : nil
    return Tensor.record("linear", output: out, inputs: inputs) { g in
        var grads: [Tensor?] = [nil, nil]
        let inputGradientBF16 = x.needsGrad && GEMMRoute.usesBF16(m: rows, n: inF, k: outF, alpha: 1, beta: 0)
        // A gradient whose op wrote its bf16 copy in the same pass (`swiglu`) comes with it.
        let g16 = inputGradientBF16 || weightGradientBF16 ? g.bfloat16Copy ?? BFloat16Bits.rounded(g.pointer, count: g.count) : nil
        if x.needsGrad {
            let gx = Tensor.uninitialized(x.shape)
            BLAS.gemm(m: rows, n: inF, k: outF, a: g.pointer, b: weight.pointer, c: gx.mutablePointer, roundedA: g16, roundedB: nil)
            grads[0] = gx
        }
        if weight.needsGrad {
            // dW = gᵀ·x, accumulated straight into a trainable weight's .grad by the GEMM's beta.
            let gemm = { (c: UnsafeMutablePointer<Float>, beta: Float) in
                BLAS.gemm(transA: true, m: outF, n: inF, k: rows, a: g.pointer, b: x.pointer, beta: beta, c: c,
                          roundedA: g16, roundedB: savedX16)
            }
            if !weight.accumulateGradInPlace(gemm) {
                let gw = Tensor.uninitialized(weight.shape)
                gemm(gw.mutablePointer, 0)
                grads[1] = gw
            }
        }
        if let bias {
            grads.append(bias.needsGrad ? g.reshaped([rows, outF]).sum(axis: 0) : nil)
        }
        return grads
    }
}

enum LinearRounding {
    /// x rounded to bfloat16. `shared` (gradients are recorded): a recorded result keeps its copy
    /// for the other products that read it until `backward()`; a leaf is rounded afresh, since a
    /// caller may overwrite a leaf's values between calls (a recorded result changed in place would
    /// break autograd anyway).
    static func input(_ x: Tensor, shared: Bool) -> BFloat16Bits.Buffer {
        guard shared, x.gradFn != nil else { return BFloat16Bits.rounded(x.pointer, count: x.count) }
        if let copy = x.bfloat16Copy { return copy }
        let copy = BFloat16Bits.rounded(x.pointer, count: x.count)
        x.bfloat16Copy = copy
        return copy
    }
}
