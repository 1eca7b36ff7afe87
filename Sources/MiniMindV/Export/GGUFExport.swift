import Foundation

/// The language model as a GGUF file for llama.cpp and Ollama, written as llama.cpp's
/// `convert_hf_to_gguf.py` writes the same model from a transformers folder: architecture `llama`
/// (MiniMind2, with or without experts) or `qwen3` / `qwen3moe` (minimind-3), its metadata keys,
/// the tokenizer as `tokenizer.ggml.*` (byte-level BPE, GPT-2 pre-tokenizer) with the chat
/// template, and its tensor names (experts stacked as `ffn_*_exps`).
/// The vision tower and projector are not written: llama.cpp has no projector type of this shape.
public enum GGUFExport {
    /// What 2-D weights become (`--type`); norms stay f32 as in llama.cpp's converter.
    public enum WeightType: String, CaseIterable, Sendable {
        case f32, f16, q8_0, q4_0

        /// `general.file_type` (llama.cpp's `llama_ftype`).
        var fileType: UInt32 {
            switch self {
            case .f32: return 0
            case .f16: return 1
            case .q4_0: return 2
            case .q8_0: return 7
            }
        }
    }

    public static func architecture(of config: LanguageModelConfig) -> String { GGUFNames.architecture(config) }

    /// Writes `lm` with `tokenizer` to `url`.
    public static func write(_ lm: MiniMindLM, tokenizer: Tokenizer, type: WeightType, name: String, to url: URL) throws {
        let config = lm.config
        if let why = GGUFNames.unsupported(config) { throw ModelError.incompatible("GGUF export of this MoE model is not possible: \(why)") }
        let metadata = try self.metadata(config: config, tokenizer: tokenizer, type: type, name: name)
        try GGUFWriter.write(metadata: metadata, tensors: try tensors(lm, type: type), to: url)
    }

    static func metadata(config: LanguageModelConfig, tokenizer: Tokenizer, type: WeightType,
                         name: String) throws -> [(String, GGUFValue)] {
        let arch = architecture(of: config)
        func u32(_ v: Int) -> GGUFValue { .uint32(UInt32(clamping: v)) }
        var kv: [(String, GGUFValue)] = [
            ("general.architecture", .string(arch)),
            ("general.type", .string("model")),
            ("general.name", .string(name)),
            ("\(arch).block_count", u32(config.numHiddenLayers)),
            ("\(arch).context_length", u32(config.maxPositionEmbeddings)),
            ("\(arch).embedding_length", u32(config.hiddenSize)),
            ("\(arch).feed_forward_length", u32(config.intermediateSize)),
            ("\(arch).attention.head_count", u32(config.numAttentionHeads)),
            ("\(arch).attention.head_count_kv", u32(config.numKeyValueHeads)),
            ("\(arch).rope.freq_base", .float32(Float(config.ropeTheta))),
            ("\(arch).attention.layer_norm_rms_epsilon", .float32(config.rmsNormEps)),
            ("\(arch).attention.key_length", u32(config.headDim)),
            ("\(arch).attention.value_length", u32(config.headDim)),
            ("general.file_type", .uint32(type.fileType)),
        ]
        if arch == "llama" {
            kv.append(("llama.vocab_size", u32(config.vocabSize)))
            kv.append(("llama.rope.dimension_count", u32(config.headDim)))
        }
        if let moe = config.moe {
            kv.append(("\(arch).expert_count", u32(moe.numExperts)))
            kv.append(("\(arch).expert_used_count", u32(moe.expertsPerToken)))
            if arch == "qwen3moe" { kv.append(("qwen3moe.expert_feed_forward_length", u32(moe.expertIntermediateSize))) }
        }
        kv.append(("general.quantization_version", .uint32(2)))
        kv += try tokenizerMetadata(tokenizer, vocabSize: config.vocabSize, config: config)
        return kv
    }

    /// `tokenizer.ggml.*`: every id up to the model's vocabulary size (ids no token has are
    /// `[PAD<id>]`, type unused, as llama.cpp's converter pads them), merges, special ids, template.
    static func tokenizerMetadata(_ tokenizer: Tokenizer, vocabSize: Int, config: LanguageModelConfig) throws -> [(String, GGUFValue)] {
        let strings = tokenizer.tokenStrings(count: vocabSize)
        let special = Set(tokenizer.addedTokens.filter(\.special).map(\.id))
        let added = Set(tokenizer.addedTokens.map(\.id))
        var tokens: [String] = [], types: [Int32] = []
        for (id, token) in strings.enumerated() {
            tokens.append(token ?? "[PAD\(id)]")
            // llama.cpp token types: 1 normal, 3 control, 4 user-defined, 5 unused.
            types.append(token == nil ? 5 : special.contains(id) ? 3 : added.contains(id) ? 4 : 1)
        }
        var kv: [(String, GGUFValue)] = [
            ("tokenizer.ggml.model", .string("gpt2")),
            // The tokenizers' ByteLevel pre-tokenizer with use_regex splits with GPT-2's pattern.
            ("tokenizer.ggml.pre", .string("gpt-2")),
            ("tokenizer.ggml.tokens", .strings(tokens)),
            ("tokenizer.ggml.token_type", .int32s(types)),
            ("tokenizer.ggml.merges", .strings(tokenizer.mergesInRankOrder.map { "\($0.0) \($0.1)" })),
            ("tokenizer.ggml.bos_token_id", .uint32(UInt32(clamping: tokenizer.bosTokenID ?? config.bosTokenId))),
            ("tokenizer.ggml.eos_token_id", .uint32(UInt32(clamping: tokenizer.eosTokenID ?? config.eosTokenId))),
            ("tokenizer.ggml.padding_token_id", .uint32(UInt32(clamping: tokenizer.padTokenID ?? config.padTokenId))),
            ("tokenizer.ggml.add_bos_token", .bool(false)),
        ]
        if let template = tokenizer.chatTemplateText { kv.append(("tokenizer.chat_template", .string(template))) }
        return kv
    }

    /// The decoder's tensors under llama.cpp's names, q/k rows in llama.cpp's order.
    static func tensors(_ lm: MiniMindLM, type: WeightType) throws -> [GGUFTensor] {
        let config = lm.config
        let state = Dictionary(lm.stateDict().map { ($0.0, $0.1) }) { a, _ in a }
        if let bias = state.keys.first(where: { $0.hasSuffix(".bias") }) {
            throw ModelError.incompatible("GGUF export: unexpected bias \(bias) in a MiniMind decoder")
        }
        var out: [GGUFTensor] = []
        func add(_ ggufName: String, _ keys: [String], permuteHeads: Int? = nil) throws {
            let parts = try keys.map { key -> Tensor in
                guard var t = state[key] else { throw ModelError.missingFile("weight \(key) for \(ggufName)") }
                // llama.cpp's llama graph rotates interleaved pairs; our rows (like transformers') are half-split.
                if let heads = permuteHeads { t = GGUFNames.halfSplitToInterleaved(t, heads: heads) }
                return t
            }
            out.append(try encode(GGUFNames.stack(parts), name: ggufName, type: type))
        }
        for entry in GGUFNames.decoderTensors(config) { try add(entry.gguf, entry.keys, permuteHeads: entry.permuteHeads) }
        // Tied output: llama.cpp reuses token_embd when output.weight is absent (as its converter writes it).
        if !(config.tieWordEmbeddings && lm.lmHead.weight === lm.model.embedTokens.weight) {
            try add("output.weight", ["lm_head.weight"])
        }
        return out
    }

    /// Norms and other 1-D tensors stay f32; matrices take `type`, falling back to f16 when a row
    /// does not fill whole 32-value blocks (what llama.cpp's converter does for q8_0).
    static func encode(_ t: Tensor, name: String, type: WeightType) throws -> GGUFTensor {
        let rowLength = t.shape.last ?? 1
        var target: GGMLType
        // The router stays f32 too, as llama.cpp's converter keeps ffn_gate_inp.
        if t.shape.count <= 1 || name.hasSuffix("_norm.weight") || name.hasSuffix("ffn_gate_inp.weight") { target = .f32 }
        else {
            switch type {
            case .f32: target = .f32
            case .f16: target = .f16
            case .q8_0: target = rowLength % 32 == 0 ? .q8_0 : .f16
            case .q4_0: target = rowLength % 32 == 0 ? .q4_0 : .f16
            }
        }
        let values = UnsafeBufferPointer(start: t.pointer, count: t.count)
        var bytes: [UInt8] = []
        switch target {
        case .f32, .f16, .bf16:
            let dtype: DType = target == .f32 ? .f32 : target == .f16 ? .f16 : .bf16
            // TensorData narrows with round-to-nearest-even, as numpy's astype(float16) does.
            bytes = [UInt8](try TensorData(tensor: t, dtype: dtype).bytes)
        case .q8_0: bytes.reserveCapacity(t.count / 32 * 34); GGMLQuants.quantizeQ8_0(values, into: &bytes)
        case .q4_0: bytes.reserveCapacity(t.count / 32 * 18); GGMLQuants.quantizeQ4_0(values, into: &bytes)
        }
        return GGUFTensor(name: name, shape: t.shape, type: target, bytes: bytes)
    }
}
