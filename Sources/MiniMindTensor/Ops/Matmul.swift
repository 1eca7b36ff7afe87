import Foundation

extension Tensor {
    /// Matrix product over the last two axes with optional transposes of the stored operands.
    /// `a`: [..., M, K] (or [..., K, M] with transposeA); `b`: [..., K, N] (or [..., N, K] with transposeB).
    /// Batch axes must be equal, or `b` may be a plain matrix shared by every batch.
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
        precondition(a.rank >= 2 && b.rank >= 2, "matmul: needs rank ≥ 2, got shapes \(a.shape) and \(b.shape)")
        let m = transposeA ? a.shape[a.rank - 1] : a.shape[a.rank - 2]
        let k = transposeA ? a.shape[a.rank - 2] : a.shape[a.rank - 1]
        let kb = transposeB ? b.shape[b.rank - 1] : b.shape[b.rank - 2]
        let n = transposeB ? b.shape[b.rank - 2] : b.shape[b.rank - 1]
        precondition(k == kb, "matmul: inner dimensions differ for shapes \(a.shape)\(transposeA ? "ᵀ" : "") and \(b.shape)\(transposeB ? "ᵀ" : "")")
        let batchA = Array(a.shape.dropLast(2)), batchB = Array(b.shape.dropLast(2))
        precondition(batchB.isEmpty || batchA == batchB,
                     "matmul: batch dimensions \(batchA) and \(batchB) must be equal (or b a matrix) for shapes \(a.shape) and \(b.shape)")
        let batch = batchA.reduce(1, *)
        let out = Tensor.uninitialized(batchA + [m, n])
        // A shared matrix with an untransposed batched `a` folds the batch into M: one big GEMM.
        let fold = batchB.isEmpty && !transposeA
        if fold {
            BLAS.gemm(transA: false, transB: transposeB, m: batch * m, n: n, k: k, a: a.pointer, b: b.pointer, c: out.mutablePointer)
        } else {
            let sb = batchB.isEmpty ? 0 : k * n
            for i in 0..<batch {
                BLAS.gemm(transA: transposeA, transB: transposeB, m: m, n: n, k: k,
                          a: a.pointer + i * m * k, b: b.pointer + i * sb, c: out.mutablePointer + i * m * n)
            }
        }
        return record("matmul", output: out, inputs: [a, b]) { g in
            var ga: Tensor? = nil, gb: Tensor? = nil
            if a.needsGrad {
                // dA = dC·op(B)ᵀ, laid out like A.
                let r = Tensor.uninitialized(a.shape)
                let sb = batchB.isEmpty ? 0 : k * n
                if fold {
                    if transposeB { BLAS.gemm(m: batch * m, n: k, k: n, a: g.pointer, b: b.pointer, c: r.mutablePointer) }
                    else { BLAS.gemm(transB: true, m: batch * m, n: k, k: n, a: g.pointer, b: b.pointer, c: r.mutablePointer) }
                } else {
                    for i in 0..<batch {
                        let gp = g.pointer + i * m * n, bp = b.pointer + i * sb, rp = r.mutablePointer + i * m * k
                        if transposeA {  // A stored [K,M]: dA = op(B)·dCᵀ
                            BLAS.gemm(transA: transposeB, transB: true, m: k, n: m, k: n, a: bp, b: gp, c: rp)
                        } else {         // A stored [M,K]: dA = dC·op(B)ᵀ
                            BLAS.gemm(transA: false, transB: !transposeB, m: m, n: k, k: n, a: gp, b: bp, c: rp)
                        }
                    }
                }
                ga = r
            }
            if b.needsGrad {
                let r = Tensor.zeros(b.shape)
                if fold {
                    if transposeB { BLAS.gemm(transA: true, m: n, n: k, k: batch * m, a: g.pointer, b: a.pointer, c: r.mutablePointer) }
                    else { BLAS.gemm(transA: true, m: k, n: n, k: batch * m, a: a.pointer, b: g.pointer, c: r.mutablePointer) }
                } else {
                    let shared = batchB.isEmpty
                    for i in 0..<batch {
                        let gp = g.pointer + i * m * n, ap = a.pointer + i * m * k
                        let rp = r.mutablePointer + (shared ? 0 : i * k * n)
                        let beta: Float = shared && i > 0 ? 1 : 0
                        if transposeB {  // B stored [N,K]: dB = dCᵀ·op(A)
                            BLAS.gemm(transA: true, transB: transposeA, m: n, n: k, k: m, a: gp, b: ap, beta: beta, c: rp)
                        } else {         // B stored [K,N]: dB = op(A)ᵀ·dC
                            BLAS.gemm(transA: !transposeA, transB: false, m: k, n: n, k: m, a: ap, b: gp, beta: beta, c: rp)
                        }
                    }
                }
                gb = r
            }
            return [ga, gb]
        }
    }
}

/// `a · b` on the last two axes (see `Tensor.matmul`).
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
    Tensor.matmul(a, b, transposeA: transposeA, transposeB: transposeB)
}
