import Foundation

/// The decoder's tensors under llama.cpp's names, and the row orders between our (transformers')
/// half-split RoPE and llama.cpp's `llama` graph, which rotates interleaved pairs (the permutation
/// is llama.cpp converter's `LlamaModel.permute`). Export and import walk the same table.
enum GGUFNames {
    /// One tensor: llama.cpp's name, our state-dict key, and the head count whose q/k rows are
    /// permuted (for `llama` only). The output head is not listed: it depends on tying.
    struct Entry { let gguf: String, key: String, permuteHeads: Int? }

    static func decoderTensors(_ config: LanguageModelConfig) -> [Entry] {
        let llama = !config.qkNorm
        var out = [Entry(gguf: "token_embd.weight", key: "model.embed_tokens.weight", permuteHeads: nil)]
        for i in 0..<config.numHiddenLayers {
            let p = "model.layers.\(i).", b = "blk.\(i)."
            func e(_ gguf: String, _ key: String, _ heads: Int? = nil) { out.append(Entry(gguf: b + gguf, key: p + key, permuteHeads: heads)) }
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
            e("ffn_gate.weight", "mlp.gate_proj.weight")
            e("ffn_up.weight", "mlp.up_proj.weight")
            e("ffn_down.weight", "mlp.down_proj.weight")
        }
        out.append(Entry(gguf: "output_norm.weight", key: "model.norm.weight", permuteHeads: nil))
        return out
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

/// Reads a GGUF language model (`llama` or `qwen3`, as `GGUFExport` and llama.cpp's converter
/// write them) back into a `MiniMindLM`: configuration from the metadata, names mapped back,
/// q/k rows of `llama` returned to half-split order, quantised tensors dequantised.
public enum GGUFImport {
    public static func config(_ file: GGUFFile) throws -> LanguageModelConfig {
        guard let arch = file["general.architecture"]?.stringValue, arch == "llama" || arch == "qwen3" else {
            throw ModelError.incompatible("GGUF architecture \(file["general.architecture"].map { "\($0)" } ?? "(none)") is not llama or qwen3")
        }
        func int(_ key: String) throws -> Int {
            guard let v = file["\(arch).\(key)"]?.intValue, v > 0, v <= 1 << 24 else {
                throw ModelError.invalidConfig("GGUF \(arch).\(key) is missing or outside 1…2^24")
            }
            return v
        }
        guard let embed = file.tensor("token_embd.weight"), embed.shape.count == 2 else {
            throw ModelError.incompatible("GGUF has no 2-D token_embd.weight")
        }
        let heads = try int("attention.head_count"), hidden = try int("embedding_length")
        let headDim = (try? int("attention.key_length")) ?? hidden / heads
        guard let eps = file["\(arch).attention.layer_norm_rms_epsilon"]?.doubleValue, eps > 0,
              let theta = file["\(arch).rope.freq_base"]?.doubleValue ?? Optional(1e4), theta > 0 else {
            throw ModelError.invalidConfig("GGUF rms epsilon or rope base missing or not positive")
        }
        var config = LanguageModelConfig(vocabSize: embed.shape[0], hiddenSize: hidden, numHiddenLayers: try int("block_count"),
                                         numAttentionHeads: heads, numKeyValueHeads: try int("attention.head_count_kv"),
                                         headDim: headDim, intermediateSize: try int("feed_forward_length"),
                                         rmsNormEps: Float(eps), ropeTheta: theta,
                                         maxPositionEmbeddings: try int("context_length"), qkNorm: arch == "qwen3",
                                         tieWordEmbeddings: file.tensor("output.weight") == nil)
        if let bos = file["tokenizer.ggml.bos_token_id"]?.intValue { config.bosTokenId = bos }
        if let eos = file["tokenizer.ggml.eos_token_id"]?.intValue { config.eosTokenId = eos }
        if let pad = file["tokenizer.ggml.padding_token_id"]?.intValue { config.padTokenId = pad }
        try config.validate()
        return config
    }

    /// The model with the file's weights (float32, dequantised).
    public static func load(_ url: URL) throws -> MiniMindLM {
        let file = try GGUFFile.read(url)
        let config = try self.config(file)
        let lm = try MiniMindLM(config: config)
        var sources: [String: TensorSource] = [:]
        func put(_ key: String, _ name: String, heads: Int? = nil) throws {
            guard let info = file.tensor(name) else { throw ModelError.missingFile("tensor \(name) in \(url.path)") }
            let values = Tensor(shape: info.shape, data: file.floats(of: info))
            sources[key] = TensorSource(heads.map { Weights.interleavedToHalfSplit(values, heads: $0) } ?? values)
        }
        for entry in GGUFNames.decoderTensors(config) { try put(entry.key, entry.gguf, heads: entry.permuteHeads) }
        if config.tieWordEmbeddings { sources["lm_head.weight"] = TensorSource(lm.lmHead.weight) }
        else { try put("lm_head.weight", "output.weight") }
        try lm.loadStateDict(sources: sources, strict: true)
        lm.eval()
        return lm
    }
}
