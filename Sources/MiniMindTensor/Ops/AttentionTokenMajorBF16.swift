import Foundation

/// `TokenMajorAttention` under `--compute bf16` (`GEMMRoute.usesBF16Attention`): the same blocks, row
/// math and float32 scores, softmax and accumulations, with every block's products on bfloat16 copies.
/// q, k, v and the output gradient are rounded once per call into head-major copies ([B, H, T, D]),
/// and a block's P and dS as soon as they are written, so that each product reads dense matrices and
/// writes a dense result: oneDNN runs its brgemm kernels only on dense operands (rows H·D floats apart
/// sent it to its slower `gemm:jit`). Dense results are copied to their token-major rows (the forward's
/// scaled by the softmax's 1/Σ on the way; dK and dV accumulate per unit and are copied once).
extension TokenMajorAttention {
    /// Head-major bfloat16 copies of q, k and v, made once for every block's products.
    struct Rounded {
        let q, k, v: BFloat16Bits.Buffer
        init(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, _ geo: AttentionGeometry) {
            self.q = headMajorRounded(q, batch: geo.batch, tokens: geo.queries, heads: geo.queryHeads, dim: geo.headDim)
            self.k = headMajorRounded(k, batch: geo.batch, tokens: geo.keys, heads: geo.kvHeads, dim: geo.headDim)
            self.v = headMajorRounded(v, batch: geo.batch, tokens: geo.keys, heads: geo.kvHeads, dim: geo.valueDim)
        }
    }

    /// x [B, T, H, D] rounded to bfloat16 into [B, H, T, D], in one pass across the pool.
    static func headMajorRounded(_ x: UnsafePointer<Float>, batch: Int, tokens: Int, heads: Int, dim: Int) -> BFloat16Bits.Buffer {
        let out = BFloat16Bits.Buffer(count: batch * tokens * heads * dim)
        let bits = out.bits
        Threads.parallelFor(batch * tokens, minChunk: Swift.max(1, 16_384 / Swift.max(1, heads * dim))) { rows in
            for row in rows {
                let b = row / tokens, t = row % tokens
                for h in 0..<heads {
                    BFloat16Bits.round(x + (row * heads + h) * dim, into: bits + ((b * heads + h) * tokens + t) * dim, count: dim)
                }
            }
        }
        return out
    }

    /// The bf16 part of a unit's scratch (after `floats` floats): room for one block's P or dS.
    private static func bf16Scratch(_ scratch: UnsafeMutablePointer<Float>, after floats: Int, count: Int) -> UnsafeMutablePointer<UInt16> {
        UnsafeMutableRawPointer(scratch + floats).bindMemory(to: UInt16.self, capacity: count)
    }

    static func forwardBF16(_ geo: AttentionGeometry, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                            rounded: Rounded, keep: [Bool]?, dropout: AttentionDropout?,
                            out: UnsafeMutablePointer<Float>, lse: UnsafeMutablePointer<Float>) {
        let tq = geo.queries, tk = geo.keys, d = geo.headDim, dv = geo.valueDim
        if tq == 0 || geo.batch == 0 || geo.queryHeads == 0 { return }
        let ldq = geo.queryHeads * d, ldk = geo.kvHeads * d, ldv = geo.kvHeads * dv, ldo = geo.queryHeads * dv
        let blocks = headBlocks(geo).sorted { $0.width > $1.width }
        let heads = geo.batch * geo.queryHeads
        let capacity = Swift.max(1, blocks.map { $0.rows * $0.width }.max() ?? 1)
        let maxRows = blocks.map(\.rows).max() ?? 1
        // scores | 1/Σ per row | the block's output, dense | P in bf16
        let floats = capacity + maxRows + maxRows * dv
        Threads.forEach(units: heads * blocks.count, scratchCount: floats + (capacity + 1) / 2) { unit, scores in
            let inverseSums = scores + capacity, dense = inverseSums + maxRows
            let p16 = bf16Scratch(scores, after: floats, count: capacity)
            let (i0, n, w) = blocks[unit / heads]
            let bh = unit % heads, b = bh / geo.queryHeads, head = bh % geo.queryHeads, kvHead = head / geo.group
            let bkv = b * geo.kvHeads + kvHead
            let qh = q + (b * tq * geo.queryHeads + head) * d, oh = out + (b * tq * geo.queryHeads + head) * dv
            let kh = k + (b * tk * geo.kvHeads + kvHead) * d, vh = v + (b * tk * geo.kvHeads + kvHead) * dv
            let lh = lse + bh * tq
            if w == 0 {  // rows that see no key: zero output
                for r in i0..<(i0 + n) { (oh + r * ldo).update(repeating: 0, count: dv) }
                (lh + i0).update(repeating: -.infinity, count: n)
                return
            }
            BLAS.gemmBFloat16(transB: true, m: n, n: w, k: d, a: (qh + i0 * ldq, ldq), a16: (rounded.q.bits + (bh * tq + i0) * d, d),
                              b: (kh, ldk), b16: (rounded.k.bits + bkv * tk * d, d), c: scores, ldc: w)
            AttentionKernel.withKeep(keep, batch: b, keys: tk) { kp in
                for r in 0..<n {
                    let i = i0 + r, visible = geo.visibleEnd(query: i)
                    (lh[i], inverseSums[r]) = unnormalizedSoftmaxRow(scores + r * w, count: w, visible: visible, keep: kp,
                                                                     scale: geo.scale)
                    dropout?.apply(row: bh * tq + i, scores + r * w, scores + r * w, visible: visible, count: w)
                }
            }
            BFloat16Bits.round(scores, into: p16, count: n * w)  // the block is still in cache
            BLAS.gemmBFloat16(m: n, n: dv, k: w, a: (UnsafePointer(scores), w), a16: (p16, w), b: (vh, ldv), b16: (rounded.v.bits + bkv * tk * dv, dv),
                              c: dense, ldc: dv)
            // Softmax's division, on the way to the token-major rows.
            for r in 0..<n { Kernels.unaryRange(dense + r * dv, oh + (i0 + r) * ldo, 0..<dv, SIMDFunctions.Scale(inverseSums[r])) }
        }
    }

    static func backwardBF16(_ geo: AttentionGeometry, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                             rounded: Rounded, keep: [Bool]?, dropout: AttentionDropout?,
                             lse: UnsafePointer<Float>, gOut: UnsafePointer<Float>,
                             gq: UnsafeMutablePointer<Float>?, gk: UnsafeMutablePointer<Float>?, gv: UnsafeMutablePointer<Float>?) {
        let tq = geo.queries, tk = geo.keys, d = geo.headDim, dv = geo.valueDim
        if tq == 0 || geo.batch == 0 || geo.queryHeads == 0 { return }
        if tk == 0 { gq?.update(repeating: 0, count: geo.batch * tq * geo.queryHeads * d); return }
        let ldq = geo.queryHeads * d, ldk = geo.kvHeads * d, ldv = geo.kvHeads * dv, ldo = geo.queryHeads * dv
        let g16 = headMajorRounded(gOut, batch: geo.batch, tokens: tq, heads: geo.queryHeads, dim: dv)
        defer { withExtendedLifetime(g16) {} }
        let blocks = headBlocks(geo)
        let capacity = Swift.max(1, blocks.map { $0.rows * $0.width }.max() ?? 1)
        let maxRows = blocks.map(\.rows).max() ?? 1
        let needScores = gq != nil || gk != nil
        // P | dS | (P ⊙ mask) | dQ of a block, dense | dK and dV of the unit, dense | P or dS in bf16
        let floatBlocks = (dropout == nil ? 2 : 3) * capacity
        let floats = floatBlocks + maxRows * d + tk * (d + dv)
        Threads.forEach(units: geo.batch * geo.kvHeads, scratchCount: floats + (capacity + 1) / 2) { unit, scratch in
            let b = unit / geo.kvHeads, kvHead = unit % geo.kvHeads
            let probs = scratch, dScores = scratch + capacity
            let dropped: UnsafeMutablePointer<Float>? = dropout == nil ? nil : scratch + 2 * capacity
            let denseQ = scratch + floatBlocks, denseK = denseQ + maxRows * d, denseV = denseK + tk * d
            let block16 = bf16Scratch(scratch, after: floats, count: capacity)
            denseK.update(repeating: 0, count: tk * (d + dv))
            let kvOffset = b * tk * geo.kvHeads + kvHead
            let kh = k + kvOffset * d, vh = v + kvOffset * dv
            let k16 = rounded.k.bits + unit * tk * d, v16 = rounded.v.bits + unit * tk * dv
            for head in (kvHead * geo.group)..<((kvHead + 1) * geo.group) {
                let bh = b * geo.queryHeads + head, rowOffset = b * tq * geo.queryHeads + head
                let qh = q + rowOffset * d, doh = gOut + rowOffset * dv, lh = lse + bh * tq
                let q16 = rounded.q.bits + bh * tq * d, do16 = g16.bits + bh * tq * dv
                let gqh = gq.map { $0 + rowOffset * d }
                for (i0, n, w) in blocks {
                    if w == 0 {  // rows that see no key: no gradient
                        if let gqh { for r in i0..<(i0 + n) { (gqh + r * ldq).update(repeating: 0, count: d) } }
                        continue
                    }
                    // Recompute P = exp(scale·QKᵀ − lse) on visible keys.
                    BLAS.gemmBFloat16(transB: true, m: n, n: w, k: d, a: (qh + i0 * ldq, ldq), a16: (q16 + i0 * d, d),
                                      b: (kh, ldk), b16: (k16, d), c: probs, ldc: w)
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
                    if gv != nil {  // dV += (P ⊙ mask)ᵀ · dO
                        let p = UnsafePointer(dropped ?? probs)
                        BFloat16Bits.round(p, into: block16, count: n * w)
                        BLAS.gemmBFloat16(transA: true, m: w, n: dv, k: n, a: (p, w), a16: (block16, w),
                                          b: (doh + i0 * ldo, ldo), b16: (do16 + i0 * dv, dv), beta: 1, c: denseV, ldc: dv)
                    }
                    guard needScores else { continue }
                    // dP = dO · Vᵀ, then dS = P ⊙ (dP − Σ P·dP) · scale (with dropout, dP ⊙ mask for dP).
                    BLAS.gemmBFloat16(transB: true, m: n, n: w, k: dv, a: (doh + i0 * ldo, ldo), a16: (do16 + i0 * dv, dv),
                                      b: (vh, ldv), b16: (v16, dv), c: dScores, ldc: w)
                    for r in 0..<n {
                        if let dropped {
                            AttentionKernel.droppedSoftmaxBackwardRow(probs + r * w, dropped + r * w, dScores + r * w, count: w, scale: geo.scale)
                        } else {
                            AttentionKernel.softmaxBackwardRow(probs + r * w, dScores + r * w, count: w, scale: geo.scale)
                        }
                    }
                    BFloat16Bits.round(dScores, into: block16, count: n * w)
                    if let gqh {
                        BLAS.gemmBFloat16(m: n, n: d, k: w, a: (UnsafePointer(dScores), w), a16: (block16, w), b: (kh, ldk), b16: (k16, d),
                                          c: denseQ, ldc: d)
                        for r in 0..<n { (gqh + (i0 + r) * ldq).update(from: denseQ + r * d, count: d) }
                    }
                    if gk != nil {
                        BLAS.gemmBFloat16(transA: true, m: w, n: d, k: n, a: (UnsafePointer(dScores), w), a16: (block16, w),
                                          b: (qh + i0 * ldq, ldq), b16: (q16 + i0 * d, d), beta: 1, c: denseK, ldc: d)
                    }
                }
            }
            // This unit is the only writer of its kv head's rows of dK and dV.
            for t in 0..<tk {
                if let gk { (gk + kvOffset * d + t * ldk).update(from: denseK + t * d, count: d) }
                if let gv { (gv + kvOffset * dv + t * ldv).update(from: denseV + t * dv, count: dv) }
            }
        }
    }
}
