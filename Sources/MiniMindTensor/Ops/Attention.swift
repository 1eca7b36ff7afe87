import Foundation

/// softmax(scale · q·kᵀ + mask) · v with grouped-query heads.
///
/// - q: [B, Hq, Tq, D]; k: [B, Hkv, Tk, D]; v: [B, Hkv, Tk, Dv]; result [B, Hq, Tq, Dv].
///   Query head j reads kv head j / (Hq / Hkv).
/// - causal: aligned to the END of the keys: query i sits at absolute position Tk − Tq + i and sees
///   keys 0...that position (KV-cache decoding). For Tq == Tk this is the usual lower triangle.
///   (PyTorch's `is_causal` aligns to the top-left instead; they differ only when Tq ≠ Tk.)
/// - keyPaddingMask: [B, Tk], nonzero = attend, 0 = padding (transformers' `attention_mask`).
/// - scale: defaults to 1/√D; must be positive.
/// A row with no visible key outputs zeros (and passes no gradient) instead of NaN.
///
/// Scores and softmax are fp32 with the row maximum subtracted (SIMD exp from `VectorMath`). Memory: the forward keeps only the
/// per-row log-sum-exp; backward recomputes the probabilities from q and k (FlashAttention-style),
/// one block of at most `AttentionKernel.blockElements` scores per thread at a time. Causal blocks multiply
/// only against the keys their last query sees (about half the work of the full square).
/// - dropout: drops attention probabilities (training; `AttentionDropout`). nil or p = 0: none.
public func scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, causal: Bool,
                                      keyPaddingMask: Tensor? = nil, scale: Float? = nil,
                                      dropout: AttentionDropout? = nil) -> Tensor {
    attention(.headMajor, q: q, k: k, v: v, causal: causal, keyPaddingMask: keyPaddingMask, scale: scale, dropout: dropout)
}

/// Where a tensor of attention keeps heads and tokens: [B, H, T, D] (head-major, what
/// `scaledDotProductAttention(q:...)` takes) or [B, T, H, D] (token-major, the projections' own
/// layout, what `scaledDotProductAttention(tokenMajorQ:...)` takes).
enum AttentionLayout {
    case headMajor, tokenMajor
    /// Axes of heads and tokens.
    var axes: (heads: Int, tokens: Int) { self == .headMajor ? (1, 2) : (2, 1) }
}

/// The one checked, recorded attention op of both layouts; the layout picks the kernel.
func attention(_ layout: AttentionLayout, q: Tensor, k: Tensor, v: Tensor, causal: Bool, keyPaddingMask: Tensor?,
               scale: Float?, dropout: AttentionDropout?) -> Tensor {
    precondition(q.rank == 4 && k.rank == 4 && v.rank == 4,
                 "scaledDotProductAttention: q, k, v must be rank 4, got \(q.shape), \(k.shape), \(v.shape)")
    let (h, t) = layout.axes
    let geo = AttentionGeometry(batch: q.shape[0], queryHeads: q.shape[h], kvHeads: k.shape[h], queries: q.shape[t],
                                keys: k.shape[t], headDim: q.shape[3], valueDim: v.shape[3], causal: causal,
                                scale: scale ?? 1 / Float(q.shape[3]).squareRoot())
    precondition(k.shape[0] == geo.batch && k.shape[3] == geo.headDim,
                 "scaledDotProductAttention: k \(k.shape) does not match q \(q.shape) in batch or head dim")
    precondition(v.shape[0] == geo.batch && v.shape[h] == geo.kvHeads && v.shape[t] == geo.keys,
                 "scaledDotProductAttention: v \(v.shape) does not match k \(k.shape)")
    precondition(geo.scale > 0, "scaledDotProductAttention: scale must be positive, got \(geo.scale)")
    precondition(geo.kvHeads > 0 && geo.queryHeads % geo.kvHeads == 0,
                 "scaledDotProductAttention: query heads \(geo.queryHeads) not a multiple of kv heads \(geo.kvHeads)")
    var keep: [Bool]? = nil
    if let keyPaddingMask {
        precondition(keyPaddingMask.shape == [geo.batch, geo.keys],
                     "scaledDotProductAttention: keyPaddingMask \(keyPaddingMask.shape) must be [\(geo.batch), \(geo.keys)]")
        keep = keyPaddingMask.toArray().map { $0 != 0 }
    }
    let drop = dropout.flatMap { $0.p > 0 ? $0 : nil }
    let out = Tensor.uninitialized(layout == .headMajor ? [geo.batch, geo.queryHeads, geo.queries, geo.valueDim]
                                                        : [geo.batch, geo.queries, geo.queryHeads, geo.valueDim])
    let lse = Tensor.uninitialized([geo.batch, geo.queryHeads, geo.queries])
    let rounded = layout == .tokenMajor && GEMMRoute.usesBF16Attention(headDim: geo.headDim, valueDim: geo.valueDim)
        ? TokenMajorAttention.Rounded(q: q.pointer, k: k.pointer, v: v.pointer, geo) : nil
    switch layout {
    case .headMajor:
        AttentionKernel.forward(geo, q: q.pointer, k: k.pointer, v: v.pointer, keep: keep, dropout: drop,
                                out: out.mutablePointer, lse: lse.mutablePointer)
    case .tokenMajor:
        TokenMajorAttention.forward(geo, q: q.pointer, k: k.pointer, v: v.pointer, rounded: rounded, keep: keep, dropout: drop,
                                    out: out.mutablePointer, lse: lse.mutablePointer)
    }
    return Tensor.record("attention", output: out, inputs: [q, k, v]) { g in
        let gq = q.needsGrad ? Tensor.uninitialized(q.shape) : nil
        let gk = k.needsGrad ? Tensor.zeros(k.shape) : nil
        let gv = v.needsGrad ? Tensor.zeros(v.shape) : nil
        switch layout {
        case .headMajor:
            AttentionKernel.backward(geo, q: q.pointer, k: k.pointer, v: v.pointer, keep: keep, dropout: drop, lse: lse.pointer,
                                     gOut: g.pointer, gq: gq?.mutablePointer, gk: gk?.mutablePointer, gv: gv?.mutablePointer)
        case .tokenMajor:
            TokenMajorAttention.backward(geo, q: q.pointer, k: k.pointer, v: v.pointer, rounded: rounded, keep: keep, dropout: drop,
                                         lse: lse.pointer, gOut: g.pointer,
                                         gq: gq?.mutablePointer, gk: gk?.mutablePointer, gv: gv?.mutablePointer)
        }
        return [gq, gk, gv]
    }
}

struct AttentionGeometry {
    let batch, queryHeads, kvHeads, queries, keys, headDim, valueDim: Int
    let causal: Bool
    let scale: Float
    var group: Int { queryHeads / kvHeads }

    /// Keys 0..<visibleEnd are causally visible to query i.
    @inline(__always) func visibleEnd(query i: Int) -> Int {
        causal ? Swift.max(0, Swift.min(keys, keys - queries + i + 1)) : keys
    }
}

/// The heads of one kv group are contiguous in q's [B, Hq, Tq, D] layout, so each (batch, kv head)
/// is handled as one matrix of group·Tq query rows: bigger GEMMs, and K/V are read once per group.
/// Units of work (see forward and backward) run in parallel, each with single-threaded BLAS calls.
enum AttentionKernel {
    /// Upper bound on the score block each thread holds at once (16 MiB of floats); tests lower it to
    /// exercise blocking.
    nonisolated(unsafe) static var blockElements = 1 << 22

    /// Query rows per causal block: smaller blocks skip more hidden keys but make smaller GEMMs.
    nonisolated(unsafe) static var causalBlockRows = 128

    static func blockRows(_ geo: AttentionGeometry) -> Int {
        Swift.max(1, Swift.min(geo.group * geo.queries, blockElements / Swift.max(geo.keys, 1)))
    }

    /// The blocks of one kv group's group·Tq query rows ([head][query] order): `start` row, `rows`
    /// rows, and `width` = the keys 0..<width any of them can see. Causal blocks stay inside one
    /// head, so a block's last query sees the most and the keys after it are never computed.
    static func rowBlocks(_ geo: AttentionGeometry) -> [(start: Int, rows: Int, width: Int)] {
        let total = geo.group * geo.queries, block = blockRows(geo)
        guard geo.causal else {
            return stride(from: 0, to: total, by: block).map { ($0, Swift.min(block, total - $0), geo.keys) }
        }
        let step = Swift.max(1, Swift.min(block, causalBlockRows))
        var blocks: [(start: Int, rows: Int, width: Int)] = []
        for head in 0..<geo.group {
            for i0 in stride(from: 0, to: geo.queries, by: step) {
                let n = Swift.min(step, geo.queries - i0)
                blocks.append((head * geo.queries + i0, n, geo.visibleEnd(query: i0 + n - 1)))
            }
        }
        return blocks
    }

    /// Forward: one unit per (batch, kv head, row block); a unit's GEMMs and softmax run on one thread.
    static func forward(_ geo: AttentionGeometry, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
                        v: UnsafePointer<Float>, keep: [Bool]?, dropout: AttentionDropout? = nil,
                        out: UnsafeMutablePointer<Float>, lse: UnsafeMutablePointer<Float>) {
        let rows = geo.group * geo.queries, tk = geo.keys, d = geo.headDim, dv = geo.valueDim
        if rows == 0 || geo.batch == 0 || geo.kvHeads == 0 { return }
        // Widest blocks first, so the threads finish together.
        let blocks = rowBlocks(geo).sorted { $0.width > $1.width }
        let pairs = geo.batch * geo.kvHeads
        Threads.forEach(units: pairs * blocks.count, scratchCount: blockRows(geo) * tk) { unit, scores in
            let (r0, n, w) = blocks[unit / pairs]
            let b = unit % pairs / geo.kvHeads, h = unit % geo.kvHeads
            let groupRow = (b * geo.queryHeads + h * geo.group) * geo.queries
            let qg = q + groupRow * d
            let kh = k + (b * geo.kvHeads + h) * tk * d, vh = v + (b * geo.kvHeads + h) * tk * dv
            let og = out + groupRow * dv, lg = lse + groupRow
            if w == 0 {
                (og + r0 * dv).update(repeating: 0, count: n * dv)
                (lg + r0).update(repeating: -.infinity, count: n)
                return
            }
            BLAS.gemmFloat32(transB: true, m: n, n: w, k: d, a: qg + r0 * d, b: kh, c: scores)
            withKeep(keep, batch: b, keys: tk) { kp in
                for r in 0..<n {
                    let i = (r0 + r) % geo.queries
                    lg[r0 + r] = softmaxRow(scores + r * w, count: w, visible: geo.visibleEnd(query: i),
                                            keep: kp, scale: geo.scale)
                    // The log-sum-exp stays the undropped one: backward recomputes P from it.
                    dropout?.apply(row: groupRow + r0 + r, scores + r * w, scores + r * w,
                                   visible: geo.visibleEnd(query: i), count: w)
                }
            }
            BLAS.gemmFloat32(m: n, n: dv, k: w, a: scores, b: vh, c: og + r0 * dv)
        }
    }

    /// Backward: one unit per (batch, kv head), since its row blocks all accumulate into the same
    /// dK and dV rows; within a unit everything runs on one thread.
    static func backward(_ geo: AttentionGeometry, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
                         v: UnsafePointer<Float>, keep: [Bool]?, dropout: AttentionDropout? = nil,
                         lse: UnsafePointer<Float>, gOut: UnsafePointer<Float>,
                         gq: UnsafeMutablePointer<Float>?, gk: UnsafeMutablePointer<Float>?, gv: UnsafeMutablePointer<Float>?) {
        let rows = geo.group * geo.queries, tk = geo.keys, d = geo.headDim, dv = geo.valueDim
        if rows == 0 || geo.batch == 0 || geo.kvHeads == 0 { return }
        if tk == 0 { gq?.update(repeating: 0, count: geo.batch * geo.queryHeads * geo.queries * d); return }
        let blocks = rowBlocks(geo)
        let capacity = Swift.max(1, blockRows(geo) * tk)
        let needScores = gq != nil || gk != nil
        // With dropout a third block holds P ⊙ mask; P itself stays for the softmax backward.
        Threads.forEach(units: geo.batch * geo.kvHeads, scratchCount: (dropout == nil ? 2 : 3) * capacity) { unit, scratch in
            let b = unit / geo.kvHeads, h = unit % geo.kvHeads
            let probs = scratch, dScores = scratch + capacity
            let dropped: UnsafeMutablePointer<Float>? = dropout == nil ? nil : scratch + 2 * capacity
            let groupRow = (b * geo.queryHeads + h * geo.group) * geo.queries
            let qg = q + groupRow * d, dog = gOut + groupRow * dv, lg = lse + groupRow
            let kvOffset = (b * geo.kvHeads + h) * tk
            let kh = k + kvOffset * d, vh = v + kvOffset * dv
            for (r0, n, w) in blocks {
                if w == 0 {  // rows that see no key: zero output, no gradient
                    gq.map { ($0 + (groupRow + r0) * d).update(repeating: 0, count: n * d) }
                    continue
                }
                // Recompute P = exp(scale·QKᵀ − lse) on visible keys.
                BLAS.gemmFloat32(transB: true, m: n, n: w, k: d, a: qg + r0 * d, b: kh, c: probs)
                withKeep(keep, batch: b, keys: tk) { kp in
                    for r in 0..<n {
                        let i = (r0 + r) % geo.queries
                        probabilityRow(probs + r * w, count: w, visible: geo.visibleEnd(query: i), keep: kp,
                                       scale: geo.scale, lse: lg[r0 + r])
                    }
                }
                if let dropout, let dropped {
                    for r in 0..<n {
                        dropout.apply(row: groupRow + r0 + r, probs + r * w, dropped + r * w,
                                      visible: geo.visibleEnd(query: (r0 + r) % geo.queries), count: w)
                    }
                }
                if let gv {  // dV += (P ⊙ mask)ᵀ · dO
                    BLAS.gemmFloat32(transA: true, m: w, n: dv, k: n, a: UnsafePointer(dropped ?? probs), b: dog + r0 * dv, beta: 1,
                              c: gv + kvOffset * dv)
                }
                if needScores {
                    // dP = dO · Vᵀ, then dS = P ⊙ (dP − Σ P·dP) · scale (with dropout, dP ⊙ mask for dP).
                    BLAS.gemmFloat32(transB: true, m: n, n: w, k: dv, a: dog + r0 * dv, b: vh, c: dScores)
                    for r in 0..<n {
                        if let dropped {
                            droppedSoftmaxBackwardRow(probs + r * w, dropped + r * w, dScores + r * w, count: w, scale: geo.scale)
                        } else {
                            softmaxBackwardRow(probs + r * w, dScores + r * w, count: w, scale: geo.scale)
                        }
                    }
                    if let gq { BLAS.gemmFloat32(m: n, n: d, k: w, a: dScores, b: kh, c: gq + (groupRow + r0) * d) }
                    if let gk {
                        BLAS.gemmFloat32(transA: true, m: w, n: d, k: n, a: dScores, b: qg + r0 * d, beta: 1, c: gk + kvOffset * d)
                    }
                }
            }
        }
    }

    /// Hands the padding flags of one batch row (or nil) to `body` as a pointer.
    @inline(__always)
    static func withKeep(_ keep: [Bool]?, batch: Int, keys: Int, _ body: (UnsafePointer<Bool>?) -> Void) {
        guard let keep else { body(nil); return }
        keep.withUnsafeBufferPointer { body($0.baseAddress.map { $0 + batch * keys }) }
    }

    @inline(__always)
    static func isVisible(_ j: Int, _ keep: UnsafePointer<Bool>?) -> Bool { keep.map { $0[j] } ?? true }

    typealias V = SIMD16<Float>

    /// Loads up to 16 floats from i..<n, padding the rest of the vector with `fill`.
    @inline(__always)
    static func loadTail(_ p: UnsafePointer<Float>, _ i: Int, _ n: Int, fill: Float) -> V {
        if i + 16 <= n { return Kernels.load(p, i) }
        var v = V(repeating: fill)
        for k in 0..<(n - i) { v[k] = p[i + k] }
        return v
    }

    @inline(__always)
    static func storeTail(_ v: V, _ p: UnsafeMutablePointer<Float>, _ i: Int, _ n: Int) {
        if i + 16 <= n { Kernels.store(v, p, i); return }
        for k in 0..<(n - i) { p[i + k] = v[k] }
    }

    /// In place: raw dot products → probabilities (0 on hidden keys). Returns the log-sum-exp of the
    /// scaled visible scores, or −∞ for a row with nothing visible (the row becomes all zeros).
    /// Hidden keys become −∞ before the exp, so they contribute exactly 0.
    static func softmaxRow(_ s: UnsafeMutablePointer<Float>, count: Int, visible: Int,
                           keep: UnsafePointer<Bool>?, scale: Float) -> Float {
        if visible < count { (s + visible).update(repeating: 0, count: count - visible) }
        // The scale is applied inside the exp pass: with scale > 0, max(s)·scale is the max of the
        // scaled scores exactly, and each exp argument is the same s·scale − max as before.
        let sc = V(repeating: scale)
        if let keep { for j in 0..<visible where !keep[j] { s[j] = -.infinity } }
        var mv = V(repeating: -.infinity)
        var i = 0
        while i < visible {
            // replace(where:) compiles to a vector max; the generic pointwiseMax does not.
            let x = loadTail(s, i, visible, fill: -.infinity)
            mv.replace(with: x, where: x .> mv)
            i += 16
        }
        let m = mv.max() * scale
        if m == -.infinity {
            s.update(repeating: 0, count: visible)
            return -.infinity
        }
        let shift = V(repeating: m)
        var acc = V()
        i = 0
        while i < visible {
            // Padding lanes are −∞ and add exp(−∞) = 0.
            let e = VectorMath.exp(loadTail(s, i, visible, fill: -.infinity) * sc - shift)
            storeTail(e, s, i, visible)
            acc += e
            i += 16
        }
        let sum = acc.sum()
        let inv = V(repeating: 1 / sum)
        i = 0
        while i < visible {
            storeTail(loadTail(s, i, visible, fill: 0) * inv, s, i, visible)
            i += 16
        }
        return m + Foundation.log(sum)
    }

    /// In place: raw dot products → exp(scale·s − lse) on visible keys, 0 elsewhere.
    static func probabilityRow(_ s: UnsafeMutablePointer<Float>, count: Int, visible: Int,
                               keep: UnsafePointer<Bool>?, scale: Float, lse: Float) {
        if lse == -.infinity { s.update(repeating: 0, count: count); return }
        let sc = V(repeating: scale), shift = V(repeating: lse)
        var i = 0
        while i < visible {
            storeTail(VectorMath.exp(loadTail(s, i, visible, fill: 0) * sc - shift), s, i, visible)
            i += 16
        }
        if let keep { for j in 0..<visible where !keep[j] { s[j] = 0 } }
        if visible < count { (s + visible).update(repeating: 0, count: count - visible) }
    }

    /// In place on dp, for dropped probabilities pm = p ⊙ mask: with g = mask ⊙ dp the softmax
    /// backward p ⊙ (g − Σ p·g) is pm ⊙ dp − p · Σ pm·dp, times scale.
    static func droppedSoftmaxBackwardRow(_ p: UnsafePointer<Float>, _ pm: UnsafePointer<Float>,
                                          _ dp: UnsafeMutablePointer<Float>, count: Int, scale: Float) {
        let dot = V(repeating: Kernels.dot(pm, UnsafePointer(dp), count: count)), sc = V(repeating: scale)
        var i = 0
        while i < count {
            let g = loadTail(pm, i, count, fill: 0) * loadTail(UnsafePointer(dp), i, count, fill: 0)
            storeTail((g - loadTail(p, i, count, fill: 0) * dot) * sc, dp, i, count)
            i += 16
        }
    }

    /// In place on dp: dS = p ⊙ (dp − Σ p·dp) · scale.
    static func softmaxBackwardRow(_ p: UnsafePointer<Float>, _ dp: UnsafeMutablePointer<Float>, count: Int, scale: Float) {
        let dot = V(repeating: Kernels.dot(p, UnsafePointer(dp), count: count)), sc = V(repeating: scale)
        var i = 0
        while i < count {
            storeTail(loadTail(p, i, count, fill: 0) * (loadTail(UnsafePointer(dp), i, count, fill: 0) - dot) * sc, dp, i, count)
            i += 16
        }
    }
}
