import Foundation

/// Attention of new queries against a KV cache (inference only, no autograd). Queries [B, T, Hq, D]
/// attend to the cached positions 0..<(past + t + 1) — causal, aligned to the end — optionally
/// skipping padded keys. The query heads sharing a kv head are stacked into one GEMM per kv head.
/// Returns [B, T, Hq·D], ready for the output projection.
enum CachedAttention {
    static func run(q: Tensor, cache: KVCache, layer: Int, past: Int, keyMask: [Float]?) -> Tensor {
        let b = q.shape[0], t = q.shape[1], hq = q.shape[2], d = q.shape[3]
        let hkv = cache.kvHeads, rep = hq / hkv, total = past + t, maxLen = cache.maxLength
        let scale = 1 / Float(d).squareRoot()
        let out = Tensor.uninitialized([b, t, hq * d])
        let rows = rep * t
        let qg = Tensor.uninitialized([rows, d]), scores = Tensor.uninitialized([rows, total])
        let og = Tensor.uninitialized([rows, d])
        let qp = q.pointer, op = out.mutablePointer
        for bi in 0..<b {
            for g in 0..<hkv {
                // Gather the group's queries as rows (r, i).
                for r in 0..<rep {
                    for i in 0..<t {
                        (qg.mutablePointer + (r * t + i) * d).update(from: qp + ((bi * t + i) * hq + g * rep + r) * d, count: d)
                    }
                }
                let kBase = cache.keys[layer].pointer + (bi * hkv + g) * maxLen * d
                let vBase = cache.values[layer].pointer + (bi * hkv + g) * maxLen * d
                BLAS.gemm(transB: true, m: rows, n: total, k: d, alpha: scale, a: qg.pointer, b: kBase, c: scores.mutablePointer)
                let mask = keyMask.map { Array($0[(bi * maxLen)..<(bi * maxLen + total)]) }
                maskedSoftmaxRows(scores.mutablePointer, rows: rows, width: total, queries: t, past: past, keyMask: mask)
                BLAS.gemm(m: rows, n: d, k: total, a: scores.pointer, b: vBase, c: og.mutablePointer)
                for r in 0..<rep {
                    for i in 0..<t {
                        (op + ((bi * t + i) * hq + g * rep + r) * d).update(from: og.pointer + (r * t + i) * d, count: d)
                    }
                }
            }
        }
        return out
    }

    /// Row (r, i) may see keys 0...past+i that the mask keeps; softmax in place, masked entries 0.
    private static func maskedSoftmaxRows(_ s: UnsafeMutablePointer<Float>, rows: Int, width: Int, queries: Int,
                                          past: Int, keyMask: [Float]?) {
        Threads.parallelFor(rows, minChunk: 8) { range in
            for row in range {
                let p = s + row * width
                let visible = past + row % queries + 1
                var m = -Float.infinity
                for j in 0..<visible where keyMask?[j] ?? 1 != 0 { m = Swift.max(m, p[j]) }
                if m == -.infinity {  // nothing visible (a padded query row): output zeros
                    p.update(repeating: 0, count: width)
                    continue
                }
                var sum: Float = 0
                for j in 0..<visible {
                    if keyMask?[j] ?? 1 != 0 { let e = Foundation.exp(p[j] - m); p[j] = e; sum += e } else { p[j] = 0 }
                }
                let inv = 1 / sum
                for j in 0..<visible { p[j] *= inv }
                if visible < width { (p + visible).update(repeating: 0, count: width - visible) }
            }
        }
    }
}
