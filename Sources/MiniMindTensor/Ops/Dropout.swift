import Foundation

/// Inverted dropout: each element is zeroed with probability `p` and survivors are scaled by 1/(1−p),
/// so evaluation needs no rescaling. Identity (the same tensor) when `!training` or `p == 0`; all
/// zeros when `p == 1`. The mask is drawn from `generator` in element order, so a seed reproduces it.
public func dropout(_ x: Tensor, p: Float, training: Bool, generator: inout SeededGenerator) -> Tensor {
    opRequire(p >= 0 && p <= 1, "dropout: probability \(p) is outside [0, 1]")
    if !training || p == 0 { return x }
    let keepScale: Float = p == 1 ? 0 : 1 / (1 - p)
    let mask = Tensor.uninitialized(x.shape)
    let mp = mask.mutablePointer
    for i in 0..<x.count { mp[i] = generator.nextUniform() < p ? 0 : keepScale }
    let out = Tensor.uninitialized(x.shape)
    Kernels.binary(x.pointer, mask.pointer, out.mutablePointer, count: x.count,
                   simd: { $0 * $1 }, scalar: { $0 * $1 })
    return Tensor.record("dropout", output: out, inputs: [x]) { g in
        let gx = Tensor.uninitialized(x.shape)
        Kernels.binary(g.pointer, mask.pointer, gx.mutablePointer, count: x.count,
                       simd: { $0 * $1 }, scalar: { $0 * $1 })
        return [gx]
    }
}
