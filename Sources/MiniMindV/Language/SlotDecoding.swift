import Foundation

// One decode step for several independent sequences, each in its own KV cache (batch 1), as
// continuous batching needs: sequences of different lengths join and leave between steps, so
// they cannot share one cache's single length. The linear layers and the feed-forward run on all
// rows together — every weight is read once per step for the whole batch, which is where batched
// decoding gains — while RoPE, the cache write and attention run per row at that row's position.

extension SelfAttention {
    /// x [B, 1, H], row i belonging to `caches[i]`: stores each row's k, v at its cache's length,
    /// attends each row over its own cache and adds the output projection to `residual` [B, 1, H].
    /// The caller advances the caches' lengths after all layers.
    func addCachedRows(_ x: Tensor, rope: RoPETable, caches: [KVCache], layer: Int, into residual: Tensor) {
        let b = x.shape[0], width = heads * headDim
        var q = qProj(x).reshaped([b, 1, heads, headDim])
        var k = kProj(x).reshaped([b, 1, kvHeads, headDim])
        let v = vProj(x).reshaped([b, 1, kvHeads, headDim])
        if let qNorm { q = qNorm(q) }
        if let kNorm { k = kNorm(k) }
        let o = Tensor.uninitialized([b, 1, width])
        for (i, cache) in caches.enumerated() {
            let row = i..<(i + 1)
            cache.store(layer: layer, k: applyRoPE(k.slice(axis: 0, row), table: rope, offset: cache.length),
                        v: v.slice(axis: 0, row))
            let qi = applyRoPE(q.slice(axis: 0, row), table: rope, offset: cache.length)
            let oi = CachedAttention.run(q: qi, cache: cache, layer: layer, past: cache.length, keyMask: nil)
            (o.mutablePointer + i * width).update(from: oi.pointer, count: width)
        }
        oProj.accumulate(o, into: residual)
    }
}

extension DecoderBlock {
    /// `updateCached` for one new token per row, each row with its own cache; updates `h` in place.
    func updateCachedRows(_ h: Tensor, rope: RoPETable, caches: [KVCache], layer: Int) {
        selfAttn.addCachedRows(inputLayernorm(h), rope: rope, caches: caches, layer: layer, into: h)
        addFeedForward(h)
    }
}

extension MiniMindLM {
    /// One decode step for `caches.count` independent sequences: `embeddings` [B, 1, hidden] holds
    /// each sequence's next token, row i appended to `caches[i]` (each a batch-1 cache with a free
    /// position, all distinct). Returns logits [B, vocab]. Equal to running each row alone through
    /// `logits(embeddings:cache:)` up to float rounding of the batched matrix products.
    public func logits(embeddings: Tensor, caches: [KVCache]) -> Tensor {
        let b = caches.count
        precondition(b > 0 && embeddings.shape == [b, 1, config.hiddenSize],
                     "MiniMindLM: embeddings \(embeddings.shape) do not match \(b) caches of one new token")
        precondition(caches.allSatisfy { $0.batch == 1 && $0.remaining > 0 }, "MiniMindLM: every cache must be batch 1 with a free position")
        precondition(Set(caches.map(ObjectIdentifier.init)).count == b, "MiniMindLM: a cache appears twice in one step")
        return noGrad {
            let h = embeddings.copy()
            for (i, layer) in model.layers.enumerated() {
                layer.updateCachedRows(h, rope: rope, caches: caches, layer: i)
            }
            for cache in caches { cache.length += 1 }
            return lmHead(model.norm(h)).reshaped([b, config.vocabSize])
        }
    }
}
