import Foundation

/// One pre-norm decoder block: `h += attn(norm(h))`, `h += ffn(norm(h))`.
public final class DecoderBlock: Module {
    public let selfAttn: SelfAttention
    public let inputLayernorm: RMSNorm, postAttentionLayernorm: RMSNorm
    /// Exactly one of the two feed-forwards exists, registered as `mlp`.
    public let dense: FeedForward?
    public let moe: MoEFeedForward?

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
        let a = h + selfAttn(inputLayernorm(h), rope: rope, keyPaddingMask: keyPaddingMask)
        return a + feedForward(postAttentionLayernorm(a))
    }

    /// Cached path (inference, no autograd): updates the hidden states `h` in place, both residual
    /// adds fused into the output GEMMs.
    /// `weights`: packed decode copies (MoE experts stay float32).
    func updateCached(_ h: Tensor, rope: RoPETable, cache: KVCache, layer: Int, keyMask: [Float]?, weights: DecodeWeights?) {
        selfAttn.addCached(inputLayernorm(h), rope: rope, cache: cache, layer: layer, keyMask: keyMask, weights: weights, into: h)
        addFeedForward(h, weights: weights)
    }

    /// Cached path of a block whose output is wanted at the last position only (the model's last
    /// block when only the last logits are needed): fills the cache for all T positions of `h`
    /// [B, T, H] and returns the block's output [B, 1, H] at position T−1. The attention, output
    /// projection and feed-forward of the other positions would be computed and thrown away.
    func lastPositionCached(_ h: Tensor, rope: RoPETable, cache: KVCache, layer: Int, keyMask: [Float]?,
                            weights: DecodeWeights?) -> Tensor {
        let t = h.shape[1]
        let x = inputLayernorm(h)
        let last = h.slice(axis: 1, (t - 1)..<t).copy()
        selfAttn.addCachedLastQuery(x, rope: rope, cache: cache, layer: layer, keyMask: keyMask, weights: weights, into: last)
        addFeedForward(last, weights: weights)
        return last
    }

    /// h += ffn(norm(h)) in place, the residual add fused into the down projection when dense.
    private func addFeedForward(_ h: Tensor, weights: DecodeWeights?) {
        let x = postAttentionLayernorm(h)
        if let dense {
            dense.addForward(x, weights: weights, into: h)
        } else {
            let f = feedForward(x)
            Kernels.addInPlace(h.mutablePointer, f.pointer, count: h.count)
        }
    }
}
