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
        let x = postAttentionLayernorm(h)
        if let dense {
            dense.addForward(x, weights: weights, into: h)
        } else {
            let f = feedForward(x)
            Kernels.addInPlace(h.mutablePointer, f.pointer, count: h.count)
        }
    }
}
