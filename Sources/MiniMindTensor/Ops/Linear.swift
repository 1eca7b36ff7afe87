import Foundation

/// y = x·Wᵀ + b with PyTorch's weight layout W [out, in]. `x` is [..., in]; leading axes fold into
/// one GEMM. A frozen W (or b) costs no gradient GEMM; the input gradient still flows.
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
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
        for r in 0..<rows { (o + r * outF).update(from: bias.pointer, count: outF) }
        beta = 1
    }
    BLAS.gemm(transB: true, m: rows, n: outF, k: inF, a: x.pointer, b: weight.pointer, beta: beta, c: o)
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    return Tensor.record("linear", output: out, inputs: inputs) { g in
        var grads: [Tensor?] = [nil, nil]
        if x.needsGrad {
            let gx = Tensor.uninitialized(x.shape)
            BLAS.gemm(m: rows, n: inF, k: outF, a: g.pointer, b: weight.pointer, c: gx.mutablePointer)
            grads[0] = gx
        }
        if weight.needsGrad {
            // dW = gᵀ·x, accumulated straight into a trainable weight's .grad by the GEMM's beta.
            let gemm = { (c: UnsafeMutablePointer<Float>, beta: Float) in
                BLAS.gemm(transA: true, m: outF, n: inF, k: rows, a: g.pointer, b: x.pointer, beta: beta, c: c)
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
