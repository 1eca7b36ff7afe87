import Foundation

/// Upstream MiniMind-V's transformers layout of the whole VLM — the folder its conversion script
/// writes with `save_pretrained` and its model pages publish:
///
///     config.json            upstream's VLMConfig fields, `model_type` "minimind-v",
///                            `architectures` ["MiniMindVLM"], `auto_map` to its remote code
///     model.safetensors      decoder and projector under the release names (`model.*`, `vision_proj.*`);
///                            the tied LM head is not stored (as transformers saves it);
///                            `pytorch_model.bin` is read too
///     tokenizer.json, tokenizer_config.json, generation_config.json
///
/// No vision weights: upstream loads the CLIP / SigLIP folder on its own, so reading takes the vision
/// folder as an argument (without one the model serves text only). We ship none of upstream's code:
/// `AutoModelForCausalLM.from_pretrained(DIR, trust_remote_code=True)` needs its `model_vlm.py` and
/// `model_minimind.py` copied into the folder (Docs/Formats.md).
public enum TransformersVLMExport {
    public static let modelType = "minimind-v"
    public static let autoMap = ["AutoConfig": "model_vlm.VLMConfig", "AutoModelForCausalLM": "model_vlm.MiniMindVLM"]

    /// A folder whose config.json says `model_type` "minimind-v".
    public static func isLayout(_ url: URL) -> Bool {
        let config = url.appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: config.path), let json = try? JSONValue.load(config) else { return false }
        return json["model_type"]?.stringValue == modelType
    }

    // MARK: writing

    /// Writes `model` (its decoder and projector) with the tokenizer files and generation config.
    public static func write(_ model: MiniMindVLM, tokenizerFiles: URL?, generation: GenerationConfig?,
                             dtype: DType = .f32, to url: URL) throws {
        guard [.f32, .f16, .bf16].contains(dtype) else { throw ModelError.incompatible("dtype \(dtype.rawValue) is not f32, f16 or bf16") }
        let lm = model.language
        // The model's own state dict is the release layout (model.*, lm_head.weight, vision_proj.*).
        let tensors = model.stateDict()
        let head = tensors.first { $0.0 == "lm_head.weight" }?.1, embed = tensors.first { $0.0 == "model.embed_tokens.weight" }?.1
        let tied = lm.config.tieWordEmbeddings && head != nil && embed != nil && head!.shape == embed!.shape
            && (head! === embed! || head!.toArray() == embed!.toArray())
        var state = StateDict()
        for (name, t) in tensors where !(tied && name == "lm_head.weight") { state[name] = try TensorData(tensor: t, dtype: dtype) }
        let json = try configJSON(model.config, tied: tied, dtype: dtype)
        let fm = FileManager.default
        try fm.createDirectory(at: url, withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys])
            .write(to: url.appendingPathComponent("config.json"), options: .atomic)
        try Safetensors.write(state, to: url.appendingPathComponent("model.safetensors"), metadata: ["format": "pt"])
        if let tokenizerFiles {
            for name in ["tokenizer.json", "tokenizer_config.json"] {
                let src = tokenizerFiles.appendingPathComponent(name)
                if fm.fileExists(atPath: src.path) { try Data(contentsOf: src).write(to: url.appendingPathComponent(name), options: .atomic) }
            }
        }
        // transformers' own generation_config.json fields (bos/eos/pad) plus the folder's sampling defaults.
        var generationJSON: [String: Any] = ["bos_token_id": lm.config.bosTokenId, "eos_token_id": lm.config.eosTokenId,
                                             "pad_token_id": lm.config.padTokenId]
        if let generation, let extra = try JSONSerialization.jsonObject(with: JSONEncoder().encode(generation)) as? [String: Any] {
            generationJSON.merge(extra) { _, new in new }
        }
        try JSONSerialization.data(withJSONObject: generationJSON, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            .write(to: url.appendingPathComponent(GenerationConfig.fileName), options: .atomic)
    }

    /// config.json as upstream's `VLMConfig.save_pretrained` writes it: MiniMind2-V's fields for the
    /// MiniMind2 generation (`aux_loss_alpha`, `n_routed_experts`, …; `image_ids` one id per image
    /// token), minimind-3v's for minimind-3 (`router_aux_loss_coef`, `num_experts`, `head_dim`,
    /// `image_hidden_size`, `image_token_len`), which is also how a reader tells them apart.
    static func configJSON(_ config: VLMConfig, tied: Bool, dtype: DType) throws -> [String: Any] {
        let c = config.language
        // Float → the shortest decimal that reads back as the same Float (1e-05, not 9.99999974e-06).
        func decimal(_ x: Float) -> Double { Double("\(x)") ?? Double(x) }
        var json: [String: Any] = [
            "architectures": ["MiniMindVLM"], "auto_map": autoMap, "model_type": modelType,
            "vocab_size": c.vocabSize, "hidden_size": c.hiddenSize, "num_hidden_layers": c.numHiddenLayers,
            "num_attention_heads": c.numAttentionHeads, "num_key_value_heads": c.numKeyValueHeads, "head_dim": c.headDim,
            "intermediate_size": c.intermediateSize, "hidden_act": "silu", "rms_norm_eps": decimal(c.rmsNormEps),
            "rope_theta": c.ropeTheta, "max_position_embeddings": c.maxPositionEmbeddings, "tie_word_embeddings": tied,
            "bos_token_id": c.bosTokenId, "eos_token_id": c.eosTokenId, "pad_token_id": c.padTokenId,
            "dropout": Double(c.dropout), "flash_attn": true, "inference_rope_scaling": c.yarn,
            "rope_scaling": c.yarn ? ["beta_fast": 32, "beta_slow": 1, "factor": 16, "original_max_position_embeddings": 2048,
                                      "attention_factor": 1.0, "type": "yarn"] as [String: Any] : NSNull(),
            "use_moe": c.moe != nil,
            "dtype": dtype == .f32 ? "float32" : dtype == .f16 ? "float16" : "bfloat16",
            "image_special_token": config.imagePlaceholder,
        ]
        let moe = c.moe
        if c.qkNorm {
            json["image_ids"] = [config.imageTokenId]
            json["image_hidden_size"] = config.vision.hiddenSize
            json["image_token_len"] = config.imageTokens
            json["num_experts"] = moe?.numExperts ?? 4
            json["num_experts_per_tok"] = moe?.expertsPerToken ?? 1
            json["moe_intermediate_size"] = moe?.expertIntermediateSize ?? c.intermediateSize
            json["norm_topk_prob"] = moe?.normalizeTopK ?? true
            json["router_aux_loss_coef"] = decimal(moe?.auxLossCoefficient ?? 5e-4)
        } else {
            // MiniMind2-V spells the whole placeholder run: '@'×196 and 196 ids.
            json["image_special_token"] = config.expandedImageText
            json["image_ids"] = Array(repeating: config.imageTokenId, count: config.imageTokens)
            json["n_routed_experts"] = moe?.numExperts ?? 4
            json["n_shared_experts"] = moe?.sharedExperts ?? 1
            json["num_experts_per_tok"] = moe?.expertsPerToken ?? 2
            json["norm_topk_prob"] = moe?.normalizeTopK ?? true
            json["aux_loss_alpha"] = decimal(moe?.auxLossCoefficient ?? 0.01)
            json["scoring_func"] = "softmax"
            json["seq_aux"] = true
        }
        if let moe, moe.flavour != (c.qkNorm ? .minimind3 : .minimind2) {
            throw ModelError.incompatible("upstream's config.json has no field for a \(moe.flavour.rawValue) MoE in a \(c.qkNorm ? "minimind-3" : "MiniMind2") decoder")
        }
        return json
    }

    // MARK: reading

    /// The configuration a folder's config.json and weights describe. `vision`: the tower's config
    /// when a vision folder is given; otherwise the generation's tower with the projector's input
    /// width (enough for text-only use, where images are refused).
    public static func config(json: JSONValue, shapes: [String: [Int]], vision: VisionConfig?) throws -> VLMConfig {
        guard json["model_type"]?.stringValue == modelType else {
            throw ModelError.invalidConfig("config.json model_type is \(json["model_type"]?.stringValue ?? "missing"), not \(modelType)")
        }
        // The generation decides QK-norm and the defaults that follow from it: minimind-3's config has
        // router_aux_loss_coef (MiniMind2's aux_loss_alpha); its weights have q_norm.
        guard var fields = json.objectValue else { throw ModelError.invalidConfig("config.json is not a JSON object") }
        fields["model_type"] = nil
        if fields["qk_norm"] == nil {
            let qk = fields["router_aux_loss_coef"] != nil || shapes["model.layers.0.self_attn.q_norm.weight"] != nil
            fields["qk_norm"] = .bool(qk)
        }
        let language: LanguageModelConfig
        do { language = try JSONDecoder().decode(LanguageModelConfig.self, from: try JSONValue.object(fields).serialized()) } catch let error as InputRangeError {
            throw error
        } catch {
            throw ModelError.invalidConfig("config.json: \(error)")
        }
        try language.validate()
        guard let projector = ConfigInference.projector(from: shapes) else {
            throw ModelError.incompatible("the weights hold no projector (vision_proj.vision_proj.0.weight or vision_proj.mlp.1.weight)")
        }
        guard let ids = json["image_ids"]?.arrayValue?.compactMap(\.intValue), let first = ids.first,
              let special = json["image_special_token"]?.stringValue, !special.isEmpty else {
            throw ModelError.invalidConfig("config.json needs image_special_token and a non-empty list image_ids")
        }
        try InputRange.check("config.json image_ids[0]", first, in: 0...(language.vocabSize - 1))
        // MiniMind2-V spells the run ('@'×196 with 196 ids); minimind-3v one unit with one id.
        var unit = special
        if ids.count > 1, special.count % ids.count == 0 {
            let piece = String(special.prefix(special.count / ids.count))
            if String(repeating: piece, count: ids.count) == special { unit = piece }
        }
        let declaredTokens = json["image_token_len"]?.intValue ?? (ids.count > 1 ? ids.count : nil)
        var tower = vision ?? (projector.kind == .linear ? VisionConfig.clipB16 : VisionConfig.siglipB32)
        if vision == nil {
            // A stand-in for the tower the layout does not carry: the projector's input width and the
            // declared image-token count (a square grid) are what text-only use and re-export need.
            tower.hiddenSize = projector.visionDim
            if projector.visionDim % tower.numAttentionHeads != 0 { tower.numAttentionHeads = 1 }
            if let tokens = declaredTokens, tokens > 0, tokens <= 1 << 16 {
                let grid = Int(Double(tokens).squareRoot().rounded())
                if grid * grid == tokens { tower.imageSize = grid * tower.patchSize }
            }
        }
        let config = VLMConfig(language: language, vision: tower, projector: projector.kind, imagePlaceholder: unit, imageTokenId: first)
        if let declared = json["image_hidden_size"]?.intValue, declared != projector.visionDim {
            throw ModelError.incompatible("config.json image_hidden_size \(declared), the projector takes \(projector.visionDim)")
        }
        if vision != nil, let tokens = declaredTokens, tokens != tower.outputTokens {
            throw ModelError.incompatible("config.json says \(tokens) image tokens, the vision folder gives \(tower.outputTokens)")
        }
        try config.validate()
        return config
    }

    /// Loads such a folder: the vision tower from `vision` (nil: text only), the tokenizer from
    /// `tokenizer` or the folder itself, generation_config.json's sampling defaults.
    public static func load(folder url: URL, vision: URL?, tokenizer: URL?) throws -> VLMBundle {
        let hf = try HFFolder(url)
        let state = try hf.loadWeights()
        let tower = try vision.map { try ViTVisionEncoder.load(folder: $0) }
        let config = try self.config(json: hf.config, shapes: Weights.shapes(state), vision: tower?.config)
        let encoder: VisionEncoder = tower ?? MissingVisionEncoder(config: config.vision)
        let model = try MiniMindVLM(config: config, language: try MiniMindLM(config: config.language),
                                    projector: MiniMindVLM.makeProjector(config, seed: 0), vision: encoder)
        try model.loadReleaseWeights(state)
        model.eval()
        let tokenizerFolder = tokenizer ?? url
        guard FileManager.default.fileExists(atPath: tokenizerFolder.appendingPathComponent("tokenizer.json").path) else {
            throw ModelError.missingFile("\(tokenizerFolder.path)/tokenizer.json (the folder has no tokenizer files; give the tokenizer folder)")
        }
        return try VLMBundle(model: model, tokenizer: try Tokenizer(contentsOf: tokenizerFolder),
                             generation: try GenerationConfig.load(folder: url, vocabularySize: config.language.vocabSize))
    }
}
