import Foundation

/// x·Wᵀ for the cached path (inference only, no autograd): the packed decode copy of W when
/// `weights` has one for this few rows, else the layer itself. x [..., in] → [..., out].
func inferenceLinear(_ x: Tensor, _ layer: Linear, weights: DecodeWeights?) -> Tensor {
    let rows = x.count / Swift.max(layer.inFeatures, 1)
    guard let packed = weights?.matrix(for: layer, rows: rows) else { return layer(x) }
    let y = Tensor.uninitialized(Array(x.shape.dropLast()) + [layer.outFeatures])
    packed.multiply(x.pointer, m: rows, into: y.mutablePointer, accumulate: false)
    return y
}

/// y += x·Wᵀ in place (inference only, no autograd): a residual connection fused into the GEMM
/// (beta = 1), saving the output tensor and the separate add pass. x [..., in], W [out, in], y [..., out].
func accumulateLinear(_ x: Tensor, _ layer: Linear, weights: DecodeWeights?, into y: Tensor) {
    let weight = layer.weight
    let outF = weight.shape[0], inF = weight.shape[1], rows = x.count / Swift.max(inF, 1)
    precondition(x.count == rows * inF && y.count == rows * outF,
                 "accumulateLinear: input \(x.shape), weight \(weight.shape) and output \(y.shape) do not match")
    if let packed = weights?.matrix(for: layer, rows: rows) {
        packed.multiply(x.pointer, m: rows, into: y.mutablePointer, accumulate: true)
    } else {
        BLAS.gemm(transB: true, m: rows, n: outF, k: inF, a: x.pointer, b: weight.pointer, beta: 1, c: y.mutablePointer)
    }
}
