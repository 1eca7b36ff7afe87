import Foundation

/// y += x·Wᵀ in place (inference only, no autograd): a residual connection fused into the GEMM
/// (beta = 1), saving the output tensor and the separate add pass. x [..., in], W [out, in], y [..., out].
func accumulateLinear(_ x: Tensor, weight: Tensor, into y: Tensor) {
    let outF = weight.shape[0], inF = weight.shape[1], rows = x.count / Swift.max(inF, 1)
    precondition(x.count == rows * inF && y.count == rows * outF,
                 "accumulateLinear: input \(x.shape), weight \(weight.shape) and output \(y.shape) do not match")
    BLAS.gemm(transB: true, m: rows, n: outF, k: inF, a: x.pointer, b: weight.pointer, beta: 1, c: y.mutablePointer)
}
