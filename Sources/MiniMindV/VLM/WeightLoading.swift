import Foundation

/// Reading weights into models: any supported file or folder → named Float32 tensors, with the
/// legacy MiniMind2 names mapped, then a strict load that reports every problem at once.
public enum Weights {
    /// Any supported checkpoint file or folder (format detected from content by `Checkpoint`).
    public static func read(_ url: URL) throws -> StateDict { try Checkpoint.loadStateDict(url) }

    /// Float32 tensors by name.
    public static func tensors(_ state: StateDict) throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (name, data) in state.entries { out[name] = try data.toTensor() }
        return out
    }

    /// Values by name that convert to float32 only when a load writes them into their parameters
    /// (`Module.loadStateDict(sources:)`), releasing a memory-mapped file's pages after each tensor:
    /// loading then needs about the model's own memory, not model + file + float32 copies.
    public static func sources(_ state: StateDict) -> [String: TensorSource] {
        var out: [String: TensorSource] = [:]
        for (name, data) in state.entries {
            out[name] = TensorSource(shape: data.shape) { dst in
                data.copyFloats(to: dst)
                data.releasePages()
            }
        }
        return out
    }

    /// Shapes by name (for configuration inference without converting values).
    public static func shapes(_ state: StateDict) -> [String: [Int]] {
        Dictionary(uniqueKeysWithValues: state.entries.map { ($0.name, $0.tensor.shape) })
    }

    /// Maps pre-2025 MiniMind2 names (`tok_embeddings`, `layers.N.attention.wq`, …) to the current
    /// ones and converts interleaved-RoPE q/k rows to the half-split order. Other keys pass through.
    public static func mapLegacyNames(_ tensors: [String: Tensor], heads: Int, kvHeads: Int) -> [String: Tensor] {
        mapLegacyNames(tensors, heads: heads, kvHeads: kvHeads, reorder: interleavedToHalfSplit)
    }

    /// `mapLegacyNames` over lazy sources: the q/k reorder happens when the load converts them.
    public static func mapLegacyNames(_ sources: [String: TensorSource], heads: Int, kvHeads: Int) -> [String: TensorSource] {
        mapLegacyNames(sources, heads: heads, kvHeads: kvHeads) { source, heads in
            TensorSource(shape: source.shape) { dst in
                let original = Tensor.uninitialized(source.shape)
                source.fill(original.mutablePointer)
                let reordered = interleavedToHalfSplit(original, heads: heads)
                dst.update(from: reordered.pointer, count: reordered.count)
            }
        }
    }

    static func mapLegacyNames<T>(_ tensors: [String: T], heads: Int, kvHeads: Int,
                                          reorder: (T, Int) -> T) -> [String: T] {
        guard tensors["tok_embeddings.weight"] != nil else { return tensors }
        var out: [String: T] = [:]
        for (key, t) in tensors {
            var k = key
            let simple = ["tok_embeddings.weight": "model.embed_tokens.weight", "norm.weight": "model.norm.weight",
                          "output.weight": "lm_head.weight"]
            if let mapped = simple[k] { out[mapped] = t; continue }
            guard k.hasPrefix("layers.") else { out[k] = t; continue }
            k = "model." + k
            let parts = [(".attention.wq.", ".self_attn.q_proj."), (".attention.wk.", ".self_attn.k_proj."),
                         (".attention.wv.", ".self_attn.v_proj."), (".attention.wo.", ".self_attn.o_proj."),
                         (".feed_forward.w1.", ".mlp.gate_proj."), (".feed_forward.w2.", ".mlp.down_proj."),
                         (".feed_forward.w3.", ".mlp.up_proj."), (".feed_forward.", ".mlp."),
                         (".attention_norm.", ".input_layernorm."), (".ffn_norm.", ".post_attention_layernorm.")]
            for (old, new) in parts where k.contains(old) { k = k.replacingOccurrences(of: old, with: new); break }
            if key.contains(".attention.wq.") { out[k] = reorder(t, heads) }
            else if key.contains(".attention.wk.") { out[k] = reorder(t, kvHeads) }
            else { out[k] = t }
        }
        return out
    }

    /// Reorders each head's output rows from pairs (2i, 2i+1) to halves (i, i + D/2), so a
    /// half-split RoPE computes what the interleaved one did.
    public static func interleavedToHalfSplit(_ w: Tensor, heads: Int) -> Tensor {
        let rows = w.shape[0], cols = w.count / max(rows, 1), d = rows / max(heads, 1)
        let out = Tensor.uninitialized(w.shape)
        for h in 0..<heads {
            for j in 0..<(d / 2) {
                (out.mutablePointer + (h * d + j) * cols).update(from: w.pointer + (h * d + 2 * j) * cols, count: cols)
                (out.mutablePointer + (h * d + j + d / 2) * cols).update(from: w.pointer + (h * d + 2 * j + 1) * cols, count: cols)
            }
        }
        return out
    }
}

extension MiniMindVLM {
    /// Loads release weights (`sft_vlm_512.pth` layout: `model.*`, `lm_head.weight`, `vision_proj.*`).
    /// Vision-encoder keys in the file are ignored (the encoder has its own folder). A language-only
    /// checkpoint (`llm_512.pth`) loads with `allowMissingProjector`, keeping the projector's init.
    public func loadReleaseWeights(_ state: StateDict, allowMissingProjector: Bool = false) throws {
        var sources = Weights.mapLegacyNames(Weights.sources(state), heads: config.language.numAttentionHeads,
                                             kvHeads: config.language.numKeyValueHeads)
        sources = addingTiedAliases(to: sources.filter { !$0.key.hasPrefix("vision_encoder.") })
        if allowMissingProjector && !sources.keys.contains(where: { $0.hasPrefix("vision_proj.") }) {
            for (k, t) in projector.stateDict() { sources["vision_proj." + k] = TensorSource(t) }
        }
        try loadStateDict(sources: sources, strict: true)
    }
}

extension MiniMindLM {
    /// Loads the language model's part of release weights (`model.*`, `lm_head.weight`; legacy
    /// names mapped); projector and vision keys are ignored, anything else is an error.
    public func loadLanguageWeights(_ state: StateDict) throws {
        var sources = Weights.mapLegacyNames(Weights.sources(state), heads: config.numAttentionHeads,
                                             kvHeads: config.numKeyValueHeads)
        sources = addingTiedAliases(to: sources.filter { !$0.key.hasPrefix("vision_encoder.") && !$0.key.hasPrefix("vision_proj.") })
        try loadStateDict(sources: sources, strict: true)
    }
}

extension Module {
    /// `sources` plus, for each tensor this module registers under several keys (a head tied to the
    /// embedding: `lm_head.weight` = `model.embed_tokens.weight`), the keys the file leaves out when
    /// it has one of the others: a tied tensor is written once (the added source skips itself). An
    /// untied head is its own tensor, so a file without `lm_head.weight` is refused by the strict load.
    func addingTiedAliases(to sources: [String: TensorSource]) -> [String: TensorSource] {
        var keysByTensor: [ObjectIdentifier: (tensor: Tensor, keys: [String])] = [:]
        for (key, tensor) in stateDict() { keysByTensor[ObjectIdentifier(tensor), default: (tensor, [])].keys.append(key) }
        var out = sources
        for (tensor, keys) in keysByTensor.values where keys.count > 1 && keys.contains(where: { sources[$0] != nil }) {
            for key in keys where out[key] == nil { out[key] = TensorSource(tensor) }
        }
        return out
    }
}

extension ViTVisionEncoder {
    /// A CLIP or SigLIP Hugging Face folder: config.json (full CLIPModel or vision-only),
    /// weights, and preprocessor_config.json when present. Text-tower and head keys are ignored.
    public static func load(folder url: URL) throws -> ViTVisionEncoder {
        let hf = try HFFolder(url)
        let config = try JSONDecoder().decode(VisionConfig.self, from: try hf.config.serialized())
        let pre = url.appendingPathComponent("preprocessor_config.json")
        try config.validate()
        let preprocessing = FileManager.default.fileExists(atPath: pre.path)
            ? try ImagePreprocessing(preprocessorConfig: pre) : (config.kind == .clip ? .clip224 : .siglip256)
        // The encoder takes exactly image_size² pixels: a preprocessing that makes another size
        // (or the default one, when preprocessor_config.json is missing) would fail at the first image.
        if let out = preprocessing.fixedOutputSize, out.width != config.imageSize || out.height != config.imageSize {
            let what = FileManager.default.fileExists(atPath: pre.path)
                ? "\(pre.path) makes \(out.width)×\(out.height) images"
                : "\(pre.path) is missing and the default \(config.kind.rawValue) preprocessing makes \(out.width)×\(out.height) images"
            throw ModelError.incompatible("\(what), but the vision tower's image_size is \(config.imageSize)")
        }
        let encoder = try ViTVisionEncoder(config: config, preprocessing: preprocessing)
        try encoder.loadWeights(try hf.loadWeights())
        return encoder
    }

    /// Loads `vision_model.*` weights strictly, ignoring keys this encoder never uses. Files saved
    /// from a bare vision transformer (transformers 5 `SiglipVisionModel`: `embeddings.*`,
    /// `encoder.*`, `post_layernorm.*`) get the `vision_model.` prefix first.
    public func loadWeights(_ state: StateDict) throws {
        var sources = Weights.sources(state)
        if !sources.keys.contains(where: { $0.hasPrefix("vision_model.") }) {
            sources = Dictionary(uniqueKeysWithValues: sources.map { ("vision_model." + $0.key, $0.value) })
        }
        sources = sources.filter { !ViTVisionEncoder.isIgnorableKey($0.key) }
        try loadStateDict(sources: sources, strict: true)
    }
}
