import Foundation

/// Reads a GGUF language model (`llama`, `qwen3` or `qwen3moe`, as `GGUFExport` and llama.cpp's
/// converter write them) back into a `MiniMindLM`: configuration from the metadata, names mapped
/// back, q/k rows of `llama` returned to half-split order, stacked experts split, quantised
/// tensors dequantised.
public enum GGUFImport {
    public static func config(_ file: GGUFFile) throws -> LanguageModelConfig {
        guard let arch = file["general.architecture"]?.stringValue, ["llama", "qwen3", "qwen3moe"].contains(arch) else {
            throw ModelError.incompatible("GGUF architecture \(file["general.architecture"].map { "\($0)" } ?? "(none)") is not llama, qwen3 or qwen3moe")
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
                                         maxPositionEmbeddings: try int("context_length"), qkNorm: arch != "llama",
                                         tieWordEmbeddings: file.tensor("output.weight") == nil)
        if file["\(arch).expert_count"] != nil || arch == "qwen3moe" {
            let experts = try int("expert_count"), used = try int("expert_used_count")
            guard used <= experts, experts <= 1 << 10 else {
                throw ModelError.invalidConfig("GGUF \(arch).expert_used_count \(used) must be at most expert_count \(experts) (≤ 1024)")
            }
            let width = (try? int("expert_feed_forward_length")) ?? config.intermediateSize
            // llama.cpp's MoE: softmax router, top k, weights renormalised, no shared expert.
            config.moe = MoEConfig(flavour: arch == "llama" ? .minimind2 : .minimind3, numExperts: experts, expertsPerToken: used,
                                   sharedExperts: 0, expertIntermediateSize: width)
        }
        if let bos = file["tokenizer.ggml.bos_token_id"]?.intValue { config.bosTokenId = bos }
        if let eos = file["tokenizer.ggml.eos_token_id"]?.intValue { config.eosTokenId = eos }
        if let pad = file["tokenizer.ggml.padding_token_id"]?.intValue { config.padTokenId = pad }
        try config.validate()
        return config
    }

    /// The tensors `load` reads for `config`, under llama.cpp's names.
    public static func tensorNames(_ config: LanguageModelConfig) -> [String] {
        GGUFNames.decoderTensors(config).map(\.gguf) + (config.tieWordEmbeddings ? [] : ["output.weight"])
    }

    /// The model with the file's weights (float32, dequantised).
    public static func load(_ url: URL) throws -> MiniMindLM {
        let file = try GGUFFile.read(url)
        let config = try self.config(file)
        let lm = try MiniMindLM(config: config)
        var sources: [String: TensorSource] = [:]
        func put(_ keys: [String], _ name: String, heads: Int? = nil) throws {
            guard let info = file.tensor(name) else { throw ModelError.missingFile("tensor \(name) in \(url.path)") }
            guard keys.count == 1 || info.shape.first == keys.count else {
                throw ModelError.incompatible("GGUF tensor \(name) has shape \(info.shape), expected \(keys.count) stacked experts")
            }
            let values = Tensor(shape: info.shape, data: file.floats(of: info))
            for (key, part) in zip(keys, GGUFNames.unstack(values, count: keys.count)) {
                sources[key] = TensorSource(heads.map { Weights.interleavedToHalfSplit(part, heads: $0) } ?? part)
            }
        }
        for entry in GGUFNames.decoderTensors(config) { try put(entry.keys, entry.gguf, heads: entry.permuteHeads) }
        if config.tieWordEmbeddings { sources["lm_head.weight"] = TensorSource(lm.lmHead.weight) }
        else { try put(["lm_head.weight"], "output.weight") }
        try lm.loadStateDict(sources: sources, strict: true)
        lm.eval()
        return lm
    }
}
