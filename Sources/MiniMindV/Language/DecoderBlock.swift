import Foundation

/// One pre-norm decoder block: `h += attn(norm(h))`, `h += ffn(norm(h))`.
public final class DecoderBlock: Module {
    public let selfAttn: SelfAttention
    public let inputLayernorm: RMSNorm, postAttentionLayernorm: RMSNorm
    /// Exactly one of the two feed-forwards exists, registered as `mlp`.
    public let dense: FeedForward?
    public let moe: MoEFeedForward?
    /// Dropout on the attention probabilities and on the attention and feed-forward outputs in
    /// training mode (set by the language model).
    var dropout: TrainingDropout?

    public init(config: LanguageModelConfig, generator: inout SeededGenerator) {
        selfAttn = SelfAttention(config: config, generator: &generator)
        inputLayernorm = RMSNorm(config.hiddenSize, eps: config.rmsNormEps)
        postAttentionLayernorm = RMSNorm(config.hiddenSize, eps: config.rmsNormEps)
        if let moeConfig = config.moe {
            moe = MoEFeedForward(hidden: config.hiddenSize, config: moeConfig, generator: &generator)
            dense = nil
        } else {
            dense = FeedForward(hidden: config.hiddenSize, intermediate: config.intermediateSize, generator: &generator)
            moe = nil
        }
        super.init()
        register(child: "self_attn", selfAttn)
        register(child: "input_layernorm", inputLayernorm)
        register(child: "post_attention_layernorm", postAttentionLayernorm)
        if let moe { register(child: "mlp", moe) }
        if let dense { register(child: "mlp", dense) }
    }

    private func feedForward(_ x: Tensor) -> Tensor {
        if let moe { return moe(x) }
        return dense.map { $0(x) } ?? x
    }

    public func callAsFunction(_ h: Tensor, rope: RoPETable, keyPaddingMask: Tensor? = nil) -> Tensor {
        let probabilityDropout = isTraining ? dropout?.attentionDropout() : nil
        let a = h + dropped(selfAttn(inputLayernorm(h), rope: rope, keyPaddingMask: keyPaddingMask, dropout: probabilityDropout))
        return a + dropped(feedForward(postAttentionLayernorm(a)))
    }

    private func dropped(_ x: Tensor) -> Tensor {
        guard let dropout, isTraining else { return x }
        return dropout(x, training: true)
    }

    /// Cached path (inference, no autograd): fills the cache for all T positions of `h` [B, T, H] and
    /// returns the block's output at positions `firstOutput..<T`, both residual adds fused into the
    /// output GEMMs. With `firstOutput` = 0 that is `h` itself, updated in place; with T − 1 (the
    /// model's last block when only the last logits are needed) the attention, output projection and
    /// feed-forward of the other positions, which would be thrown away, are not computed.
    func updateCached(_ h: Tensor, rope: RoPETable, cache: KVCache, layer: Int, keyMask: [Float]?,
                      firstOutput: Int = 0) -> Tensor {
        let x = inputLayernorm(h)
        let out = firstOutput == 0 ? h : h.slice(axis: 1, firstOutput..<h.shape[1]).copy()
        selfAttn.addCached(x, rope: rope, cache: cache, layer: layer, keyMask: keyMask,
                           firstQuery: firstOutput, into: out)
        addFeedForward(out)
        return out
    }

    /// h += ffn(norm(h)) in place, the residual add fused into the down projection when dense.
    func addFeedForward(_ h: Tensor) {
        let x = postAttentionLayernorm(h)
        if let dense {
            dense.addForward(x, into: h)
        } else {
            let f = feedForward(x)
            Kernels.addInPlace(h.mutablePointer, f.pointer, count: h.count)
        }
    }
}
