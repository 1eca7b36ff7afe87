import Foundation

/// Grouped-query causal self-attention with RoPE and, for minimind-3, RMSNorm on q and k per head
/// before RoPE. Keys `q_proj`, `k_proj`, `v_proj`, `o_proj` (no biases), `q_norm`, `k_norm`.
public final class SelfAttention: Module {
    public let heads: Int, kvHeads: Int, headDim: Int
    public private(set) var qProj: Linear, kProj: Linear, vProj: Linear, oProj: Linear
    public let qNorm: RMSNorm?, kNorm: RMSNorm?

    public init(config: LanguageModelConfig, generator: inout SeededGenerator) {
        heads = config.numAttentionHeads
        kvHeads = config.numKeyValueHeads
        headDim = config.headDim
        let h = config.hiddenSize
        qProj = Linear(h, heads * headDim, bias: false, generator: &generator)
        kProj = Linear(h, kvHeads * headDim, bias: false, generator: &generator)
        vProj = Linear(h, kvHeads * headDim, bias: false, generator: &generator)
        oProj = Linear(heads * headDim, h, bias: false, generator: &generator)
        qNorm = config.qkNorm ? RMSNorm(headDim, eps: config.rmsNormEps) : nil
        kNorm = config.qkNorm ? RMSNorm(headDim, eps: config.rmsNormEps) : nil
        super.init()
        register(child: "q_proj", qProj)
        register(child: "k_proj", kProj)
        register(child: "v_proj", vProj)
        register(child: "o_proj", oProj)
        if let qNorm, let kNorm {
            register(child: "q_norm", qNorm)
            register(child: "k_norm", kNorm)
        }
    }

    /// Replaces each projection by `transform(name, layer)` (name: `q_proj`, …), keys unchanged.
    public func swapLinears(_ transform: (String, Linear) -> Linear) {
        qProj = swap(child: "q_proj", qProj, transform)
        kProj = swap(child: "k_proj", kProj, transform)
        vProj = swap(child: "v_proj", vProj, transform)
        oProj = swap(child: "o_proj", oProj, transform)
    }

    /// q [B, T, Hq, D] for x [B, T, H], RoPE applied from `offset`.
    private func query(_ x: Tensor, rope: RoPETable, offset: Int) -> Tensor {
        var q = qProj(x).reshaped([x.shape[0], x.shape[1], heads, headDim])
        if let qNorm { q = qNorm(q) }
        return applyRoPE(q, table: rope, offset: offset)
    }

    /// k (RoPE applied from `offset`) and v, both [B, T, Hkv, D].
    private func keysAndValues(_ x: Tensor, rope: RoPETable, offset: Int) -> (Tensor, Tensor) {
        let b = x.shape[0], t = x.shape[1]
        var k = kProj(x).reshaped([b, t, kvHeads, headDim])
        let v = vProj(x).reshaped([b, t, kvHeads, headDim])
        if let kNorm { k = kNorm(k) }
        return (applyRoPE(k, table: rope, offset: offset), v)
    }

    /// Full-sequence path with autograd (training, or inference without a cache).
    /// `keyPaddingMask`: [B, T] with 1 for real tokens, 0 for padding. `dropout`: on the attention
    /// probabilities (training only; the decoder block passes it).
    public func callAsFunction(_ x: Tensor, rope: RoPETable, keyPaddingMask: Tensor? = nil,
                               dropout: AttentionDropout? = nil) -> Tensor {
        oProj(headOutputs(x, rope: rope, keyPaddingMask: keyPaddingMask, dropout: dropout))
    }

    /// The heads' outputs before `o_proj`, [B, T, heads · headDim] with head h at columns
    /// h·headDim ..< (h+1)·headDim (pruning measures each head's share of the output from them).
    func headOutputs(_ x: Tensor, rope: RoPETable, keyPaddingMask: Tensor? = nil, dropout: AttentionDropout? = nil) -> Tensor {
        let b = x.shape[0], t = x.shape[1]
        let q = query(x, rope: rope, offset: 0)
        let (k, v) = keysAndValues(x, rope: rope, offset: 0)
        // [B, T, H, D] as projected: no permuted copies of q, k, v or the output (nor of their gradients).
        let o = scaledDotProductAttention(tokenMajorQ: q, k: k, v: v, causal: true, keyPaddingMask: keyPaddingMask,
                                          dropout: dropout)
        return o.reshaped([b, t, heads * headDim])
    }

    /// Cached path (inference): appends this step's k, v for all T positions of `x` [B, T, H] to
    /// `cache` at its current length, attends over everything stored from the queries of positions
    /// `firstQuery..<T` and adds their output projection to `residual` [B, T − firstQuery, H] in
    /// place (the GEMM's beta = 1 does the residual add). `firstQuery` = T − 1 serves a prefill that
    /// needs the last position's output only. The caller advances `cache.length` after all layers.
    func addCached(_ x: Tensor, rope: RoPETable, cache: KVCache, layer: Int, keyMask: [Float]?,
                   firstQuery: Int = 0, into residual: Tensor) {
        let t = x.shape[1]
        let (k, v) = keysAndValues(x, rope: rope, offset: cache.length)
        cache.store(layer: layer, k: k, v: v)
        let queries = firstQuery == 0 ? x : x.slice(axis: 1, firstQuery..<t)
        let q = query(queries, rope: rope, offset: cache.length + firstQuery)
        let o = CachedAttention.run(q: q, cache: cache, layer: layer, past: cache.length + firstQuery, keyMask: keyMask)
        oProj.accumulate(o, into: residual)
    }
}
