import Foundation

// One forward for several independent sequences, each in its own KV cache (batch 1), as continuous
// batching needs: its decode step (one new token per sequence) and its prefill of newcomers
// (prompts, or chunks of them, of different lengths). Sequences join and leave between steps, so
// they cannot share one cache's single length. Their new tokens are packed one after another into
// [N, hidden] — no padding, no mask — so the linear layers and the feed-forward run on all rows
// together (every weight is read once per step for the whole batch), while RoPE, the cache write
// and attention run per sequence at its own positions over its own cache only.

/// Where each sequence's new tokens sit in a packed forward: rows starts[i] ..< starts[i] + counts[i].
struct PackedSequences {
    let caches: [KVCache]
    let counts: [Int]
    let starts: [Int]

    init(caches: [KVCache], counts: [Int]) {
        self.caches = caches
        self.counts = counts
        var next = 0
        starts = counts.map { c in defer { next += c }; return next }
    }

    /// The packed row of each sequence's last new token.
    var lastRows: [Int] { zip(starts, counts).map { $0 + $1 - 1 } }
}

extension SelfAttention {
    /// x [N, H] (packed rows): stores every row's k, v in its sequence's cache at that sequence's
    /// next positions, attends the query rows — all, or with `lastOnly` each sequence's last — over
    /// their own cache and adds the output projection to `residual` ([N, H], or [S, H] with
    /// `lastOnly`). The caller advances the caches' lengths after all layers.
    func addCachedPacked(_ x: Tensor, rope: RoPETable, packed: PackedSequences, layer: Int, lastOnly: Bool,
                         into residual: Tensor) {
        let n = x.shape[0]
        var k = kProj(x).reshaped([n, kvHeads, headDim])
        let v = vProj(x).reshaped([n, kvHeads, headDim])
        if let kNorm { k = kNorm(k) }
        let queries = lastOnly ? indexSelect(x, axis: 0, indices: packed.lastRows) : x
        let qn = queries.shape[0]
        var q = qProj(queries).reshaped([qn, heads, headDim])
        if let qNorm { q = qNorm(q) }
        let rotated = Tensor.uninitialized([qn, heads, headDim])
        var segments: [CachedAttention.Segment] = []
        segments.reserveCapacity(packed.caches.count)
        var qRow = 0
        for (i, cache) in packed.caches.enumerated() {
            let rows = packed.starts[i]..<(packed.starts[i] + packed.counts[i])
            let ki = applyRoPE(k.slice(axis: 0, rows), table: rope, offset: cache.length)
            cache.store(layer: layer, k: ki.reshaped([1, rows.count, kvHeads, headDim]),
                        v: v.slice(axis: 0, rows).reshaped([1, rows.count, kvHeads, headDim]))
            let first = lastOnly ? rows.count - 1 : 0, count = rows.count - first
            let qi = applyRoPE(q.slice(axis: 0, qRow..<(qRow + count)), table: rope, offset: cache.length + first)
            (rotated.mutablePointer + qRow * heads * headDim).update(from: qi.pointer, count: qi.count)
            segments.append(CachedAttention.Segment(cache: cache, batchRow: 0, queryStart: qRow, queries: count,
                                                    past: cache.length + first, keyMask: nil))
            qRow += count
        }
        // All sequences' heads in one parallel pass (not one thread hand-off per sequence).
        oProj.accumulate(CachedAttention.run(q: rotated, segments: segments, layer: layer), into: residual)
    }
}

extension DecoderBlock {
    /// The block over packed rows `h` [N, H]: updated in place and returned, or with `lastOnly` the
    /// output at each sequence's last row [S, H] (the other rows' outputs would be thrown away).
    func updateCachedPacked(_ h: Tensor, rope: RoPETable, packed: PackedSequences, layer: Int, lastOnly: Bool) -> Tensor {
        let x = inputLayernorm(h)
        let out = lastOnly ? indexSelect(h, axis: 0, indices: packed.lastRows) : h
        selfAttn.addCachedPacked(x, rope: rope, packed: packed, layer: layer, lastOnly: lastOnly, into: out)
        addFeedForward(out)
        return out
    }
}

extension MiniMindLM {
    /// One forward for `caches.count` independent sequences: `embeddings` (N·hidden values, e.g.
    /// [1, N, hidden]) packs `counts[i]` new tokens of sequence i after those of sequences 0..<i,
    /// appended to `caches[i]` (each a batch-1 cache with room, all distinct). Returns the logits
    /// [S, vocab] of each sequence's last new token. Equal to running each sequence alone through
    /// `logits(embeddings:cache:positions: .last)` up to float rounding of the batched matrix products.
    public func lastLogits(packed embeddings: Tensor, counts: [Int], caches: [KVCache]) -> Tensor {
        let s = caches.count, n = counts.reduce(0, +), hidden = config.hiddenSize
        precondition(s > 0 && counts.count == s && counts.allSatisfy { $0 > 0 } && embeddings.count == n * hidden,
                     "MiniMindLM: embeddings \(embeddings.shape) do not pack \(counts) tokens for \(s) caches")
        precondition(zip(caches, counts).allSatisfy { $0.batch == 1 && $0.remaining >= $1 },
                     "MiniMindLM: every cache must be batch 1 with room for its new tokens")
        precondition(Set(caches.map(ObjectIdentifier.init)).count == s, "MiniMindLM: a cache appears twice in one step")
        let packed = PackedSequences(caches: caches, counts: counts)
        return noGrad {
            var h = embeddings.copy().reshaped([n, hidden])
            let last = model.layers.count - 1
            for (i, layer) in model.layers.enumerated() {
                h = layer.updateCachedPacked(h, rope: rope, packed: packed, layer: i, lastOnly: n > s && i == last)
            }
            for (cache, count) in zip(caches, counts) { cache.length += count }
            if h.shape[0] > s { h = indexSelect(h, axis: 0, indices: packed.lastRows) }  // a model without blocks
            return lmHead(model.norm(h)).reshaped([s, config.vocabSize])
        }
    }
}
