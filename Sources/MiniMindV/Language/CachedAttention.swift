import Foundation

/// Attention of new queries against a KV cache (inference only, no autograd). Queries [B, T, Hq, D]
/// attend to the cached positions 0..<(past + t + 1) — causal, aligned to the end — optionally
/// skipping padded keys. The query heads sharing a kv head are stacked into one GEMM per kv head,
/// rows ordered (token, head) so a token's heads are one contiguous copy in and out. Long prompts
/// go in chunks of queries, each multiplied only against the keys it can see (about half the work
/// of the full square for a causal prefill). Returns [B, T, Hq·D], ready for the output projection.
enum CachedAttention {
    /// Query tokens per chunk: large enough for efficient GEMMs, small enough to skip most of the
    /// causally hidden upper triangle.
    static let queryChunk = 64

    static func run(q: Tensor, cache: KVCache, layer: Int, past: Int, keyMask: [Float]?) -> Tensor {
        let b = q.shape[0], t = q.shape[1], hq = q.shape[2], d = q.shape[3]
        let hkv = cache.kvHeads, rep = hq / hkv, total = past + t, maxLen = cache.maxLength
        let scale = 1 / Float(d).squareRoot()
        let out = Tensor.uninitialized([b, t, hq * d])
        let chunk = Swift.min(t, queryChunk), chunks = (t + chunk - 1) / chunk
        // Per kv head g, its queries as [t·rep, d], rows (token, head): [hkv][t·rep][d].
        let qg = Tensor.uninitialized([hkv, t * rep, d]), og = Tensor.uninitialized([hkv, t * rep, d])
        let qp = q.pointer, op = out.mutablePointer, qgp = qg.mutablePointer, ogp = og.mutablePointer
        let groupWidth = rep * d, groupSize = t * rep * d
        for bi in 0..<b {
            let mask: [Float]? = keyMask.map { Array($0[(bi * maxLen)..<(bi * maxLen + total)]) }
            for i in 0..<t {
                for g in 0..<hkv {
                    (qgp + g * groupSize + i * groupWidth).update(from: qp + ((bi * t + i) * hq + g * rep) * d, count: groupWidth)
                }
            }
            // One unit per (kv head, query chunk), widest chunks first so the threads finish together;
            // each unit's GEMMs run single-threaded on its own thread.
            Threads.forEach(units: hkv * chunks, scratchCount: chunk * rep * total) { unit, scores in
                let g = unit % hkv, c = chunks - 1 - unit / hkv
                let i0 = c * chunk, i1 = Swift.min(t, i0 + chunk), rows = (i1 - i0) * rep, width = past + i1
                let kBase = cache.keys[layer].pointer + (bi * hkv + g) * maxLen * d
                let vBase = cache.values[layer].pointer + (bi * hkv + g) * maxLen * d
                BLAS.gemm(transB: true, m: rows, n: width, k: d, alpha: scale, a: qgp + g * groupSize + i0 * groupWidth,
                          b: kBase, c: scores)
                softmaxRows(scores, rows: rows, width: width, rep: rep, firstVisible: past + i0 + 1, keyMask: mask)
                BLAS.gemm(m: rows, n: d, k: width, a: scores, b: vBase, c: ogp + g * groupSize + i0 * groupWidth)
            }
            for i in 0..<t {
                for g in 0..<hkv {
                    (op + ((bi * t + i) * hq + g * rep) * d).update(from: ogp + g * groupSize + i * groupWidth, count: groupWidth)
                }
            }
        }
        return out
    }

    /// Row (i, r) (row / rep = i) sees keys 0..<firstVisible + i that the mask keeps. Softmax in
    /// place; hidden and masked entries become 0. A row that sees nothing (padding) becomes all 0.
    private static func softmaxRows(_ s: UnsafeMutablePointer<Float>, rows: Int, width: Int, rep: Int,
                                    firstVisible: Int, keyMask: [Float]?) {
        let work = rows * width
        if let keyMask {
            keyMask.withUnsafeBufferPointer { m in
                let mp = m.baseAddress!
                Threads.parallelFor(rows, minChunk: Swift.max(1, 16_384 / Swift.max(work / Swift.max(rows, 1), 1))) { range in
                    for row in range { softmaxRow(s + row * width, width: width, visible: firstVisible + row / rep, mask: mp) }
                }
            }
        } else {
            Threads.parallelFor(rows, minChunk: Swift.max(1, 16_384 / Swift.max(width, 1))) { range in
                for row in range { softmaxRow(s + row * width, width: width, visible: firstVisible + row / rep, mask: nil) }
            }
        }
    }

    typealias V = SIMD16<Float>

    @inline(never)
    static func softmaxRow(_ p: UnsafeMutablePointer<Float>, width: Int, visible: Int, mask: UnsafePointer<Float>?) {
        if let mask {
            for j in 0..<visible where mask[j] == 0 { p[j] = -.infinity }
        }
        let raw = UnsafeMutableRawPointer(p)
        // Max over the visible entries.
        var mv = V(repeating: -.infinity)
        var j = 0
        while j + 16 <= visible {
            // A compare + blend: `pointwiseMax` compiles to a per-lane loop through the stack here.
            let x = raw.loadUnaligned(fromByteOffset: j * 4, as: V.self)
            mv = mv.replacing(with: x, where: x .> mv)
            j += 16
        }
        var m = mv.max()
        while j < visible { m = Swift.max(m, p[j]); j += 1 }
        if m == -.infinity {  // nothing visible: a padded query row
            p.update(repeating: 0, count: width)
            return
        }
        // exp(x − m) and its sum; exp of −inf (masked) is 0.
        let mvec = V(repeating: m)
        var sv = V(repeating: 0)
        j = 0
        while j + 16 <= visible {
            let e = VectorMath.expNonPositive(raw.loadUnaligned(fromByteOffset: j * 4, as: V.self) - mvec)
            raw.storeBytes(of: e, toByteOffset: j * 4, as: V.self)
            sv += e
            j += 16
        }
        var sum = sv.sum()
        while j < visible {
            let e = Foundation.exp(p[j] - m)
            p[j] = e
            sum += e
            j += 1
        }
        let inv = V(repeating: 1 / sum)
        j = 0
        while j + 16 <= visible {
            raw.storeBytes(of: raw.loadUnaligned(fromByteOffset: j * 4, as: V.self) * inv, toByteOffset: j * 4, as: V.self)
            j += 16
        }
        while j < visible { p[j] *= inv[0]; j += 1 }
        if visible < width { (p + visible).update(repeating: 0, count: width - visible) }
    }
}
