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
        let b = q.shape[0], t = q.shape[1], maxLen = cache.maxLength, total = past + t
        let segments = (0..<b).map { bi in
            Segment(cache: cache, batchRow: bi, queryStart: bi * t, queries: t, past: past,
                    keyMask: keyMask.map { Array($0[(bi * maxLen)..<(bi * maxLen + total)]) })
        }
        return run(q: q, segments: segments, layer: layer).reshaped([b, t, q.shape[2] * q.shape[3]])
    }

    /// One sequence's queries in `run(q:segments:layer:)`: query rows queryStart ..< queryStart +
    /// queries attend to row `batchRow` of `cache`, query i to positions 0 ..< past + i + 1, skipping
    /// positions whose `keyMask` entry is 0.
    struct Segment {
        let cache: KVCache
        let batchRow: Int
        let queryStart: Int
        let queries: Int
        let past: Int
        let keyMask: [Float]?
    }

    /// Attention of the query rows of q [rows, Hq, D] (any leading shape) for several sequences at
    /// once, each over its own cache: all sequences' (kv head, query chunk) units share one parallel
    /// pass. Returns [rows, Hq·D].
    static func run(q: Tensor, segments: [Segment], layer: Int) -> Tensor {
        let hq = q.shape[q.rank - 2], d = q.shape[q.rank - 1], rows = q.count / Swift.max(hq * d, 1)
        let out = Tensor.uninitialized([rows, hq * d])
        guard let hkv = segments.first?.cache.kvHeads else { return out }
        let rep = hq / hkv, groupWidth = rep * d
        let scale = 1 / Float(d).squareRoot()
        // Per segment and kv head g, its queries as [t·rep, d], rows (token, head): [hkv][t·rep][d]
        // at the segment's own rows.
        let qg = Tensor.uninitialized([rows * hq * d]), og = Tensor.uninitialized([rows * hq * d])
        let qp = q.pointer, op = out.mutablePointer, qgp = qg.mutablePointer, ogp = og.mutablePointer
        func group(_ s: Segment, _ g: Int, _ i: Int) -> Int { s.queryStart * hq * d + (g * s.queries + i) * groupWidth }
        for s in segments {
            for i in 0..<s.queries {
                for g in 0..<hkv {
                    (qgp + group(s, g, i)).update(from: qp + ((s.queryStart + i) * hq + g * rep) * d, count: groupWidth)
                }
            }
        }
        // One unit per (segment, kv head, query chunk), the most work first so the threads finish
        // together; each unit's GEMMs run single-threaded on its own thread.
        var units: [(segment: Int, g: Int, i0: Int, i1: Int)] = []
        var scratch = 0
        for (si, s) in segments.enumerated() where s.queries > 0 {
            let chunk = Swift.min(s.queries, queryChunk)
            scratch = Swift.max(scratch, chunk * rep * (s.past + s.queries))
            for i0 in stride(from: 0, to: s.queries, by: chunk) {
                for g in 0..<hkv { units.append((si, g, i0, Swift.min(s.queries, i0 + chunk))) }
            }
        }
        func work(_ u: (segment: Int, g: Int, i0: Int, i1: Int)) -> Int { (u.i1 - u.i0) * (segments[u.segment].past + u.i1) }
        let order = units.sorted { work($0) > work($1) }
        Threads.forEach(units: order.count, scratchCount: scratch) { unit, scores in
            let (si, g, i0, i1) = order[unit]
            let s = segments[si], maxLen = s.cache.maxLength
            let n = (i1 - i0) * rep, width = s.past + i1
            let kBase = s.cache.keys[layer].pointer + (s.batchRow * hkv + g) * maxLen * d
            let vBase = s.cache.values[layer].pointer + (s.batchRow * hkv + g) * maxLen * d
            BLAS.gemm(transB: true, m: n, n: width, k: d, alpha: scale, a: qgp + group(s, g, i0), b: kBase, c: scores)
            softmaxRows(scores, rows: n, width: width, rep: rep, firstVisible: s.past + i0 + 1, keyMask: s.keyMask)
            BLAS.gemm(m: n, n: d, k: width, a: scores, b: vBase, c: ogp + group(s, g, i0))
        }
        for s in segments {
            for i in 0..<s.queries {
                for g in 0..<hkv {
                    (op + ((s.queryStart + i) * hq + g * rep) * d).update(from: ogp + group(s, g, i), count: groupWidth)
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
