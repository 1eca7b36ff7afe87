import Foundation

/// `scaledDotProductAttention` on the layout the projections produce: q [B, Tq, Hq, D], k [B, Tk, Hkv, D],
/// v [B, Tk, Hkv, Dv], result [B, Tq, Hq, Dv] (token-major; the same semantics, mask, dropout rows and
/// scale). Each head's products read and write its rows in place, H·D floats apart (GEMM leading
/// dimensions), instead of the caller permuting q, k and v into [B, H, T, D] copies and the output
/// back, and the backward pass permuting their four gradients again: eight copies of a layer's
/// activations per training step that this layout does not make.
public func scaledDotProductAttention(tokenMajorQ q: Tensor, k: Tensor, v: Tensor, causal: Bool,
                                      keyPaddingMask: Tensor? = nil, scale: Float? = nil,
                                      dropout: AttentionDropout? = nil) -> Tensor {
    attention(.tokenMajor, q: q, k: k, v: v, causal: causal, keyPaddingMask: keyPaddingMask, scale: scale, dropout: dropout)
}

/// The kernels of the token-major attention: `AttentionKernel`'s scheme (scores and softmax per
/// block of query rows on one thread, the backward recomputing the probabilities from the saved
/// log-sum-exp) with every block inside one head, since a head's rows are Hq·D floats apart and the
/// heads of a group no longer form one matrix. Row math is `AttentionKernel`'s.
enum TokenMajorAttention {
    typealias Block = (start: Int, rows: Int, width: Int)

    /// One head's query rows in blocks of at most `AttentionKernel.blockElements` scores (causal:
    /// at most `causalBlockRows` rows, each block only as wide as its last query sees).
    static func headBlocks(_ geo: AttentionGeometry) -> [Block] {
        let block = Swift.max(1, Swift.min(geo.queries, AttentionKernel.blockElements / Swift.max(geo.keys, 1)))
        let step = geo.causal ? Swift.max(1, Swift.min(block, AttentionKernel.causalBlockRows)) : block
        return stride(from: 0, to: geo.queries, by: step).map { i0 in
            let n = Swift.min(step, geo.queries - i0)
            return (i0, n, geo.visibleEnd(query: i0 + n - 1))
        }
    }

    /// Forward: one unit per (batch, query head, row block), widest blocks first.
    static func forward(_ geo: AttentionGeometry, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
                        v: UnsafePointer<Float>, keep: [Bool]?, dropout: AttentionDropout?,
                        out: UnsafeMutablePointer<Float>, lse: UnsafeMutablePointer<Float>) {
        let tq = geo.queries, tk = geo.keys, d = geo.headDim, dv = geo.valueDim
        if tq == 0 || geo.batch == 0 || geo.queryHeads == 0 { return }
        let ldq = geo.queryHeads * d, ldk = geo.kvHeads * d, ldv = geo.kvHeads * dv, ldo = geo.queryHeads * dv
        let blocks = headBlocks(geo).sorted { $0.width > $1.width }
        let heads = geo.batch * geo.queryHeads
        let capacity = Swift.max(1, blocks.map { $0.rows * $0.width }.max() ?? 1)
        let maxRows = blocks.map(\.rows).max() ?? 1
        Threads.forEach(units: heads * blocks.count, scratchCount: capacity + maxRows) { unit, scores in
            let inverseSums = scores + capacity
            let (i0, n, w) = blocks[unit / heads]
            let bh = unit % heads, b = bh / geo.queryHeads, head = bh % geo.queryHeads, kvHead = head / geo.group
            let qh = q + (b * tq * geo.queryHeads + head) * d, oh = out + (b * tq * geo.queryHeads + head) * dv
            let kh = k + (b * tk * geo.kvHeads + kvHead) * d, vh = v + (b * tk * geo.kvHeads + kvHead) * dv
            let lh = lse + bh * tq
            if w == 0 {  // rows that see no key: zero output
                for r in i0..<(i0 + n) { (oh + r * ldo).update(repeating: 0, count: dv) }
                (lh + i0).update(repeating: -.infinity, count: n)
                return
            }
            BLAS.gemmFloat32(transB: true, m: n, n: w, k: d, a: qh + i0 * ldq, lda: ldq, b: kh, ldb: ldk, c: scores, ldc: w)
            AttentionKernel.withKeep(keep, batch: b, keys: tk) { kp in
                for r in 0..<n {
                    let i = i0 + r, visible = geo.visibleEnd(query: i)
                    (lh[i], inverseSums[r]) = unnormalizedSoftmaxRow(scores + r * w, count: w, visible: visible, keep: kp,
                                                                     scale: geo.scale)
                    // The log-sum-exp stays the undropped one: backward recomputes P from it.
                    dropout?.apply(row: bh * tq + i, scores + r * w, scores + r * w, visible: visible, count: w)
                }
            }
            BLAS.gemmFloat32(m: n, n: dv, k: w, a: scores, lda: w, b: vh, ldb: ldv, c: oh + i0 * ldo, ldc: ldo)
            // Softmax's division, on the Dv outputs of a row instead of its w probabilities.
            for r in 0..<n { Kernels.scaleInPlace(oh + (i0 + r) * ldo, inverseSums[r], count: dv) }
        }
    }

    /// `AttentionKernel.softmaxRow` without its last pass: leaves exp(scale·s − max) on visible keys
    /// (0 elsewhere) and returns the log-sum-exp with 1/Σ, which the caller applies to the row's
    /// output (Dv values rather than the row's width). Nothing visible: all zeros, (−∞, 0).
    static func unnormalizedSoftmaxRow(_ s: UnsafeMutablePointer<Float>, count: Int, visible: Int,
                                       keep: UnsafePointer<Bool>?, scale: Float) -> (lse: Float, inverseSum: Float) {
        typealias V = AttentionKernel.V
        if visible < count { (s + visible).update(repeating: 0, count: count - visible) }
        if let keep { for j in 0..<visible where !keep[j] { s[j] = -.infinity } }
        var mv = V(repeating: -.infinity)
        var i = 0
        while i < visible {
            let x = AttentionKernel.loadTail(s, i, visible, fill: -.infinity)
            mv.replace(with: x, where: x .> mv)  // a vector max (the generic pointwiseMax is not)
            i += 16
        }
        // With scale > 0, max(s)·scale is exactly the max of the scaled scores.
        let m = mv.max() * scale
        if m == -.infinity {
            s.update(repeating: 0, count: visible)
            return (-.infinity, 0)
        }
        let sc = V(repeating: scale), shift = V(repeating: m)
        var acc = V()
        i = 0
        while i < visible {
            // Padding lanes are −∞ and add exp(−∞) = 0.
            let e = VectorMath.exp(AttentionKernel.loadTail(s, i, visible, fill: -.infinity) * sc - shift)
            AttentionKernel.storeTail(e, s, i, visible)
            acc += e
            i += 16
        }
        let sum = acc.sum()
        return (m + Foundation.log(sum), 1 / sum)
    }

    /// Backward: one unit per (batch, kv head), since all its query heads' blocks accumulate into
    /// the same dK and dV rows; within a unit everything runs on one thread.
    static func backward(_ geo: AttentionGeometry, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
                         v: UnsafePointer<Float>, keep: [Bool]?, dropout: AttentionDropout?,
                         lse: UnsafePointer<Float>, gOut: UnsafePointer<Float>,
                         gq: UnsafeMutablePointer<Float>?, gk: UnsafeMutablePointer<Float>?, gv: UnsafeMutablePointer<Float>?) {
        let tq = geo.queries, tk = geo.keys, d = geo.headDim, dv = geo.valueDim
        if tq == 0 || geo.batch == 0 || geo.queryHeads == 0 { return }
        if tk == 0 { gq?.update(repeating: 0, count: geo.batch * tq * geo.queryHeads * d); return }
        let ldq = geo.queryHeads * d, ldk = geo.kvHeads * d, ldv = geo.kvHeads * dv, ldo = geo.queryHeads * dv
        let blocks = headBlocks(geo)
        let capacity = Swift.max(1, blocks.map { $0.rows * $0.width }.max() ?? 1)
        let needScores = gq != nil || gk != nil
        // With dropout a third block holds P ⊙ mask; P itself stays for the softmax backward.
        Threads.forEach(units: geo.batch * geo.kvHeads, scratchCount: (dropout == nil ? 2 : 3) * capacity) { unit, scratch in
            let b = unit / geo.kvHeads, kvHead = unit % geo.kvHeads
            let probs = scratch, dScores = scratch + capacity
            let dropped: UnsafeMutablePointer<Float>? = dropout == nil ? nil : scratch + 2 * capacity
            let kvOffset = b * tk * geo.kvHeads + kvHead
            let kh = k + kvOffset * d, vh = v + kvOffset * dv
            let gkh = gk.map { $0 + kvOffset * d }, gvh = gv.map { $0 + kvOffset * dv }
            for head in (kvHead * geo.group)..<((kvHead + 1) * geo.group) {
                let bh = b * geo.queryHeads + head, rowOffset = b * tq * geo.queryHeads + head
                let qh = q + rowOffset * d, doh = gOut + rowOffset * dv, lh = lse + bh * tq
                let gqh = gq.map { $0 + rowOffset * d }
                for (i0, n, w) in blocks {
                    if w == 0 {  // rows that see no key: no gradient
                        if let gqh { for r in i0..<(i0 + n) { (gqh + r * ldq).update(repeating: 0, count: d) } }
                        continue
                    }
                    // Recompute P = exp(scale·QKᵀ − lse) on visible keys.
                    BLAS.gemmFloat32(transB: true, m: n, n: w, k: d, a: qh + i0 * ldq, lda: ldq, b: kh, ldb: ldk, c: probs, ldc: w)
                    AttentionKernel.withKeep(keep, batch: b, keys: tk) { kp in
                        for r in 0..<n {
                            AttentionKernel.probabilityRow(probs + r * w, count: w, visible: geo.visibleEnd(query: i0 + r), keep: kp,
                                                           scale: geo.scale, lse: lh[i0 + r])
                        }
                    }
                    if let dropout, let dropped {
                        for r in 0..<n {
                            dropout.apply(row: bh * tq + i0 + r, probs + r * w, dropped + r * w,
                                          visible: geo.visibleEnd(query: i0 + r), count: w)
                        }
                    }
                    if let gvh {  // dV += (P ⊙ mask)ᵀ · dO
                        BLAS.gemmFloat32(transA: true, m: w, n: dv, k: n, a: UnsafePointer(dropped ?? probs), lda: w,
                                         b: doh + i0 * ldo, ldb: ldo, beta: 1, c: gvh, ldc: ldv)
                    }
                    guard needScores else { continue }
                    // dP = dO · Vᵀ, then dS = P ⊙ (dP − Σ P·dP) · scale (with dropout, dP ⊙ mask for dP).
                    BLAS.gemmFloat32(transB: true, m: n, n: w, k: dv, a: doh + i0 * ldo, lda: ldo, b: vh, ldb: ldv, c: dScores, ldc: w)
                    for r in 0..<n {
                        if let dropped {
                            AttentionKernel.droppedSoftmaxBackwardRow(probs + r * w, dropped + r * w, dScores + r * w, count: w, scale: geo.scale)
                        } else {
                            AttentionKernel.softmaxBackwardRow(probs + r * w, dScores + r * w, count: w, scale: geo.scale)
                        }
                    }
                    if let gqh {
                        BLAS.gemmFloat32(m: n, n: d, k: w, a: dScores, lda: w, b: kh, ldb: ldk, c: gqh + i0 * ldq, ldc: ldq)
                    }
                    if let gkh {
                        BLAS.gemmFloat32(transA: true, m: w, n: d, k: n, a: dScores, lda: w, b: qh + i0 * ldq, ldb: ldq,
                                         beta: 1, c: gkh, ldc: ldk)
                    }
                }
            }
        }
    }
}
