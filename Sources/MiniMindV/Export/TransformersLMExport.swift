import Foundation

/// The language model alone as a standard transformers folder — `LlamaForCausalLM` (MiniMind2) or
/// `Qwen3ForCausalLM` (minimind-3) — that `AutoModelForCausalLM.from_pretrained(OUT)` loads with no
/// remote code: config.json with those classes' fields, model.safetensors with the release key
/// names (they are transformers' names; the tied LM head is not stored, as transformers saves it),
/// and the tokenizer files. MoE decoders have no standard class and are refused.
public enum TransformersLMExport {
    public static func write(_ lm: MiniMindLM, tokenizerFiles: URL?, dtype: DType = .f32, to url: URL) throws {
        let c = lm.config
        guard c.moe == nil else {
            throw ModelError.incompatible("a MoE decoder has no standard transformers class (MiniMind's router and shared experts); export it as a model folder instead")
        }
        guard [.f32, .f16, .bf16].contains(dtype) else { throw ModelError.incompatible("dtype \(dtype.rawValue) is not f32, f16 or bf16") }
        let tied = c.tieWordEmbeddings && lm.lmHead.weight === lm.model.embedTokens.weight
        var config: [String: Any] = [
            "architectures": [c.qkNorm ? "Qwen3ForCausalLM" : "LlamaForCausalLM"],
            "model_type": c.qkNorm ? "qwen3" : "llama",
            "vocab_size": c.vocabSize, "hidden_size": c.hiddenSize, "intermediate_size": c.intermediateSize,
            "num_hidden_layers": c.numHiddenLayers, "num_attention_heads": c.numAttentionHeads,
            "num_key_value_heads": c.numKeyValueHeads, "head_dim": c.headDim, "hidden_act": "silu",
            "max_position_embeddings": c.maxPositionEmbeddings, "rms_norm_eps": Double(c.rmsNormEps),
            "rope_theta": c.ropeTheta, "tie_word_embeddings": tied, "attention_bias": false,
            "bos_token_id": c.bosTokenId, "eos_token_id": c.eosTokenId, "pad_token_id": c.padTokenId,
            "torch_dtype": dtype == .f32 ? "float32" : dtype == .f16 ? "float16" : "bfloat16",
        ]
        if c.qkNorm { config["use_sliding_window"] = false } else { config["mlp_bias"] = false }
        let fm = FileManager.default
        try fm.createDirectory(at: url, withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
            .write(to: url.appendingPathComponent("config.json"), options: .atomic)
        var state = StateDict()
        for (name, t) in lm.stateDict() where !(tied && name == "lm_head.weight") { state[name] = try TensorData(tensor: t, dtype: dtype) }
        try Safetensors.write(state, to: url.appendingPathComponent("model.safetensors"), metadata: ["format": "pt"])
        if let tokenizerFiles {
            for name in ["tokenizer.json", "tokenizer_config.json"] {
                let src = tokenizerFiles.appendingPathComponent(name)
                if fm.fileExists(atPath: src.path) { try Data(contentsOf: src).write(to: url.appendingPathComponent(name), options: .atomic) }
            }
        }
    }

    /// Reads such a folder (ours or transformers') back: config.json by the upstream field names,
    /// weights strictly.
    public static func load(_ url: URL) throws -> MiniMindLM {
        let hf = try HFFolder(url)
        let config = try JSONDecoder().decode(LanguageModelConfig.self, from: try hf.config.serialized())
        try config.validate()
        let lm = try MiniMindLM(config: config)
        try lm.loadLanguageWeights(try hf.loadWeights())
        lm.eval()
        return lm
    }
}
