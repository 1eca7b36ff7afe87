import Foundation

/// The decoder's tensors under llama.cpp's names, and the row orders between our (transformers')
/// half-split RoPE and llama.cpp's `llama` graph, which rotates interleaved pairs (the permutation
/// is llama.cpp converter's `LlamaModel.permute`). Export and import walk the same table.
enum GGUFNames {
    /// One tensor: llama.cpp's name, our state-dict key(s), and the head count whose q/k rows are
    /// permuted (for `llama` only). Several keys are stacked along a new leading dimension (one
    /// expert each: llama.cpp's `ffn_*_exps`). The output head is not listed: it depends on tying.
    struct Entry {
        let gguf: String, keys: [String], permuteHeads: Int?
        var key: String { keys[0] }
    }

    /// llama.cpp's architecture: `llama` (MiniMind2; also with experts, as Mixtral is written),
    /// `qwen3`, or `qwen3moe` (minimind-3 with experts).
    static func architecture(_ config: LanguageModelConfig) -> String {
        config.qkNorm ? (config.moe == nil ? "qwen3" : "qwen3moe") : "llama"
    }

    static func decoderTensors(_ config: LanguageModelConfig) -> [Entry] {
        let llama = !config.qkNorm
        var out = [Entry(gguf: "token_embd.weight", keys: ["model.embed_tokens.weight"], permuteHeads: nil)]
        for i in 0..<config.numHiddenLayers {
            let p = "model.layers.\(i).", b = "blk.\(i)."
            func e(_ gguf: String, _ key: String, _ heads: Int? = nil) { out.append(Entry(gguf: b + gguf, keys: [p + key], permuteHeads: heads)) }
            e("attn_norm.weight", "input_layernorm.weight")
            e("attn_q.weight", "self_attn.q_proj.weight", llama ? config.numAttentionHeads : nil)
            e("attn_k.weight", "self_attn.k_proj.weight", llama ? config.numKeyValueHeads : nil)
            e("attn_v.weight", "self_attn.v_proj.weight")
            e("attn_output.weight", "self_attn.o_proj.weight")
            if config.qkNorm {
                e("attn_q_norm.weight", "self_attn.q_norm.weight")
                e("attn_k_norm.weight", "self_attn.k_norm.weight")
            }
            e("ffn_norm.weight", "post_attention_layernorm.weight")
            if let moe = config.moe {
                // The router [experts, hidden] and each projection of all experts stacked.
                e("ffn_gate_inp.weight", "mlp.gate.weight")
                for (gguf, proj) in [("ffn_gate_exps.weight", "gate_proj"), ("ffn_up_exps.weight", "up_proj"), ("ffn_down_exps.weight", "down_proj")] {
                    out.append(Entry(gguf: b + gguf, keys: (0..<moe.numExperts).map { p + "mlp.experts.\($0).\(proj).weight" }, permuteHeads: nil))
                }
            } else {
                e("ffn_gate.weight", "mlp.gate_proj.weight")
                e("ffn_up.weight", "mlp.up_proj.weight")
                e("ffn_down.weight", "mlp.down_proj.weight")
            }
        }
        out.append(Entry(gguf: "output_norm.weight", keys: ["model.norm.weight"], permuteHeads: nil))
        return out
    }

    /// Why llama.cpp's graph for this decoder would compute something else (nil: it computes ours).
    /// Its MoE layers pick the top k of a softmax and renormalise their weights, with no shared expert.
    static func unsupported(_ config: LanguageModelConfig) -> String? {
        guard let moe = config.moe else { return nil }
        if moe.sharedExperts > 0 {
            return "llama.cpp's \(architecture(config)) graph has no shared experts (this MoE adds \(moe.sharedExperts) to every token)"
        }
        if !moe.normalizeTopK || (moe.flavour == .minimind2 && moe.expertsPerToken == 1) {
            return "llama.cpp renormalises the chosen experts' weights; this MoE does not (norm_topk_prob false)"
        }
        return nil
    }

    /// `tensors` stacked along a new leading dimension.
    static func stack(_ tensors: [Tensor]) -> Tensor {
        guard tensors.count > 1 else { return tensors[0] }
        let out = Tensor.uninitialized([tensors.count] + tensors[0].shape)
        for (i, t) in tensors.enumerated() { (out.mutablePointer + i * t.count).update(from: t.pointer, count: t.count) }
        return out
    }

    /// The inverse of `stack`: `count` tensors along the leading dimension.
    static func unstack(_ t: Tensor, count: Int) -> [Tensor] {
        guard count > 1 else { return [t] }
        let each = t.count / count, shape = Array(t.shape.dropFirst())
        return (0..<count).map { i in Tensor(shape: shape, data: Array(UnsafeBufferPointer(start: t.pointer + i * each, count: each))) }
    }

    /// Row h·d + 2i + j of the result is row h·d + j·d/2 + i of `w` (per head of d rows).
    static func halfSplitToInterleaved(_ w: Tensor, heads: Int) -> Tensor {
        let rows = w.shape[0], cols = w.count / max(rows, 1), d = rows / max(heads, 1)
        let out = Tensor.uninitialized(w.shape)
        for h in 0..<heads {
            for i in 0..<(d / 2) {
                (out.mutablePointer + (h * d + 2 * i) * cols).update(from: w.pointer + (h * d + i) * cols, count: cols)
                (out.mutablePointer + (h * d + 2 * i + 1) * cols).update(from: w.pointer + (h * d + i + d / 2) * cols, count: cols)
            }
        }
        return out
    }
}
