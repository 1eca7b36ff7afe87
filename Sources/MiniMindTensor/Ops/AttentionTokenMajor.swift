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
/// heads of a group no longer form one matrix. Row math is `AttentionKernel`'s. The block products
/// are float32 on the tensors' own rows, or bf16 on head-major copies (`AttentionBlockOperands.swift`).
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

    /// Forward: one unit per (batch, query head, row block), widest blocks first. `rounded`: bf16
    /// products on these copies (`AttentionBlockOperands.swift`), else float32 ones.
    static func forward(_ geo: AttentionGeometry, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
                        v: UnsafePointer<Float>, rounded: Rounded?, keep: [Bool]?, dropout: AttentionDropout?,
                        out: UnsafeMutablePointer<Float>, lse: UnsafeMutablePointer<Float>) {
        let tq = geo.queries, tk = geo.keys, d = geo.headDim, dv = geo.valueDim
        if tq == 0 || geo.batch == 0 || geo.queryHeads == 0 { return }
        let ldo = geo.queryHeads * dv
        let blocks = headBlocks(geo).sorted { $0.width > $1.width }
        let heads = geo.batch * geo.queryHeads
        let capacity = Swift.max(1, blocks.map { $0.rows * $0.width }.max() ?? 1)
        let maxRows = blocks.map(\.rows).max() ?? 1
        // scores | 1/Σ per row | bf16 only: the block's output, dense, and P rounded
        let floats = capacity + maxRows + (rounded == nil ? 0 : maxRows * dv)
        let bf16Floats = rounded == nil ? 0 : (capacity + 1) / 2
        Threads.forEach(units: heads * blocks.count, scratchCount: floats + bf16Floats) { unit, scores in
            let inverseSums = scores + capacity
            let p16 = bf16Scratch(scores, after: floats, count: capacity, rounded)
            let (i0, n, w) = blocks[unit / heads]
            let bh = unit % heads, b = bh / geo.queryHeads, head = bh % geo.queryHeads, kvHead = head / geo.group
            let oh = out + (b * tq * geo.queryHeads + head) * dv
            let lh = lse + bh * tq
            if w == 0 {  // rows that see no key: zero output
                for r in i0..<(i0 + n) { (oh + r * ldo).update(repeating: 0, count: dv) }
                (lh + i0).update(repeating: -.infinity, count: n)
                return
            }
            let qh = Self.head(q, rounded?.q, batch: b, head: head, tokens: tq, heads: geo.queryHeads, dim: d)
            let kh = Self.head(k, rounded?.k, batch: b, head: kvHead, tokens: tk, heads: geo.kvHeads, dim: d)
            let vh = Self.head(v, rounded?.v, batch: b, head: kvHead, tokens: tk, heads: geo.kvHeads, dim: dv)
            product(transB: true, m: n, n: w, k: d, a: qh.rows(from: i0), b: kh, c: scores, ldc: w)
            AttentionKernel.withKeep(keep, batch: b, keys: tk) { kp in
                for r in 0..<n {
                    let i = i0 + r, visible = geo.visibleEnd(query: i)
                    (lh[i], inverseSums[r]) = unnormalizedSoftmaxRow(scores + r * w, count: w, visible: visible, keep: kp,
                                                                     scale: geo.scale)
                    // The log-sum-exp stays the undropped one: backward recomputes P from it.
                    dropout?.apply(row: bh * tq + i, scores + r * w, scores + r * w, visible: visible, count: w)
                }
            }
            // float32: straight into the output rows; bf16: a dense block (oneDNN's fast kernels need one).
            let (c, ldc) = rounded == nil ? (oh + i0 * ldo, ldo) : (inverseSums + maxRows, dv)
            product(m: n, n: dv, k: w, a: .rounding(scores, ld: w, count: n * w, into: p16), b: vh, c: c, ldc: ldc)
            // Softmax's division, on the Dv outputs of a row instead of its w probabilities.
            for r in 0..<n { Kernels.unaryRange(c + r * ldc, oh + (i0 + r) * ldo, 0..<dv, SIMDFunctions.Scale(inverseSums[r])) }
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
    /// the same dK and dV rows; within a unit everything runs on one thread. `rounded`: the forward's
    /// copies (bf16 products; the output gradient is rounded here), else float32 products.
    static func backward(_ geo: AttentionGeometry, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
                         v: UnsafePointer<Float>, rounded: Rounded?, keep: [Bool]?, dropout: AttentionDropout?,
                         lse: UnsafePointer<Float>, gOut: UnsafePointer<Float>,
                         gq: UnsafeMutablePointer<Float>?, gk: UnsafeMutablePointer<Float>?, gv: UnsafeMutablePointer<Float>?) {
        let tq = geo.queries, tk = geo.keys, d = geo.headDim, dv = geo.valueDim
        if tq == 0 || geo.batch == 0 || geo.queryHeads == 0 { return }
        if tk == 0 { gq?.update(repeating: 0, count: geo.batch * tq * geo.queryHeads * d); return }
        let ldq = geo.queryHeads * d, ldk = geo.kvHeads * d, ldv = geo.kvHeads * dv
        let g16 = rounded == nil ? nil : headMajorRounded(gOut, batch: geo.batch, tokens: tq, heads: geo.queryHeads, dim: dv)
        defer { withExtendedLifetime(g16) {} }
        let blocks = headBlocks(geo)
        let capacity = Swift.max(1, blocks.map { $0.rows * $0.width }.max() ?? 1)
        let maxRows = blocks.map(\.rows).max() ?? 1
        let needScores = gq != nil || gk != nil
        // P | dS | with dropout P ⊙ mask (P itself stays for the softmax backward) | bf16 only: a block's
        // dQ and the unit's dK and dV, dense, then P or dS rounded
        let floatBlocks = (dropout == nil ? 2 : 3) * capacity
        let floats = floatBlocks + (rounded == nil ? 0 : maxRows * d + tk * (d + dv))
        let bf16Floats = rounded == nil ? 0 : (capacity + 1) / 2
        Threads.forEach(units: geo.batch * geo.kvHeads, scratchCount: floats + bf16Floats) { unit, scratch in
            let b = unit / geo.kvHeads, kvHead = unit % geo.kvHeads
            let probs = scratch, dScores = scratch + capacity
            let dropped: UnsafeMutablePointer<Float>? = dropout == nil ? nil : scratch + 2 * capacity
            let block16 = bf16Scratch(scratch, after: floats, count: capacity, rounded)
            let kvOffset = b * tk * geo.kvHeads + kvHead
            let kh = Self.head(k, rounded?.k, batch: b, head: kvHead, tokens: tk, heads: geo.kvHeads, dim: d)
            let vh = Self.head(v, rounded?.v, batch: b, head: kvHead, tokens: tk, heads: geo.kvHeads, dim: dv)
            // Where dK and dV accumulate: their own rows (float32), or dense ones copied at the end (bf16).
            let denseQ = scratch + floatBlocks, denseK = denseQ + maxRows * d, denseV = denseK + tk * d
            if rounded != nil { denseK.update(repeating: 0, count: tk * (d + dv)) }
            let gkh = gk.map { rounded == nil ? ($0 + kvOffset * d, ldk) : (denseK, d) }
            let gvh = gv.map { rounded == nil ? ($0 + kvOffset * dv, ldv) : (denseV, dv) }
            for head in (kvHead * geo.group)..<((kvHead + 1) * geo.group) {
                let bh = b * geo.queryHeads + head, rowOffset = b * tq * geo.queryHeads + head
                let qh = Self.head(q, rounded?.q, batch: b, head: head, tokens: tq, heads: geo.queryHeads, dim: d)
                let doh = Self.head(gOut, g16, batch: b, head: head, tokens: tq, heads: geo.queryHeads, dim: dv)
                let lh = lse + bh * tq
                let gqh = gq.map { $0 + rowOffset * d }
                for (i0, n, w) in blocks {
                    if w == 0 {  // rows that see no key: no gradient
                        if let gqh { for r in i0..<(i0 + n) { (gqh + r * ldq).update(repeating: 0, count: d) } }
                        continue
                    }
                    // Recompute P = exp(scale·QKᵀ − lse) on visible keys.
                    product(transB: true, m: n, n: w, k: d, a: qh.rows(from: i0), b: kh, c: probs, ldc: w)
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
                        let p = Operand.rounding(dropped ?? probs, ld: w, count: n * w, into: block16)
                        product(transA: true, m: w, n: dv, k: n, a: p, b: doh.rows(from: i0), beta: 1, c: gvh.0, ldc: gvh.1)
                    }
                    guard needScores else { continue }
                    // dP = dO · Vᵀ, then dS = P ⊙ (dP − Σ P·dP) · scale (with dropout, dP ⊙ mask for dP).
                    product(transB: true, m: n, n: w, k: dv, a: doh.rows(from: i0), b: vh, c: dScores, ldc: w)
                    for r in 0..<n {
                        if let dropped {
                            AttentionKernel.droppedSoftmaxBackwardRow(probs + r * w, dropped + r * w, dScores + r * w, count: w, scale: geo.scale)
                        } else {
                            AttentionKernel.softmaxBackwardRow(probs + r * w, dScores + r * w, count: w, scale: geo.scale)
                        }
                    }
                    let ds = Operand.rounding(dScores, ld: w, count: n * w, into: block16)
                    if let gqh {
                        if rounded == nil {
                            product(m: n, n: d, k: w, a: ds, b: kh, c: gqh + i0 * ldq, ldc: ldq)
                        } else {
                            product(m: n, n: d, k: w, a: ds, b: kh, c: denseQ, ldc: d)
                            for r in 0..<n { (gqh + (i0 + r) * ldq).update(from: denseQ + r * d, count: d) }
                        }
                    }
                    if let gkh {
                        product(transA: true, m: w, n: d, k: n, a: ds, b: qh.rows(from: i0), beta: 1, c: gkh.0, ldc: gkh.1)
                    }
                }
            }
            guard rounded != nil else { return }
            // bf16: this unit is the only writer of its kv head's rows of dK and dV.
            for t in 0..<tk {
                if let gk { (gk + kvOffset * d + t * ldk).update(from: denseK + t * d, count: d) }
                if let gv { (gv + kvOffset * dv + t * ldv).update(from: denseV + t * dv, count: dv) }
            }
        }
    }
}
