import Foundation

/// What `minimind-v convert` does, as a library call so that tests run it: read weights in any
/// supported layout and write them in another **without changing the model**. The configuration
/// comes from the model itself (its config.json) whenever it has one; a preset or a config file
/// given by the user must agree with the weights, else the conversion is refused.
public struct ModelConversion {
    public enum Output: Equatable {
        /// One weights file (.pth/.pt/.bin/.ckpt/.safetensors): tensors only, as they are.
        case weightsFile
        /// A MiniMindV model folder (config.json, model.safetensors, tokenizer files, vision/).
        case modelFolder
        /// The language model as GGUF for llama.cpp / Ollama.
        case gguf(GGUFExport.WeightType)
        /// The language model as a standard transformers LlamaForCausalLM / Qwen3ForCausalLM folder.
        case transformersLM
        /// Upstream MiniMind-V's transformers layout of the VLM (decoder + projector, no vision weights).
        case transformers
    }

    public var input: URL
    public var output: URL
    /// Target dtype for floating-point tensors (nil: keep the source's).
    public var dtype: DType?
    public var preset: VLMPreset?
    /// A VLMConfig JSON (a model folder's config.json) for weights that carry none (`.pth`).
    public var configFile: URL?
    public var vision: URL?
    public var tokenizer: URL?
    /// GGUF output with these weights (also chosen by an output name ending in .gguf, then f32).
    public var gguf: GGUFExport.WeightType?
    /// Forces folder or weights-file output whatever the output's name (nil: decided by the name).
    public var layout: Output?
    /// Writes a quantised model folder (`QuantizedWeights`): int8/int4 attention and feed-forward weights.
    public var quantize: WeightQuantization?

    public init(input: URL, output: URL, dtype: DType? = nil, preset: VLMPreset? = nil, configFile: URL? = nil,
                vision: URL? = nil, tokenizer: URL? = nil, gguf: GGUFExport.WeightType? = nil, layout: Output? = nil) {
        self.input = input
        self.output = output
        self.dtype = dtype
        self.preset = preset
        self.configFile = configFile
        self.vision = vision
        self.tokenizer = tokenizer
        self.gguf = gguf
        self.layout = layout
    }

    /// A conversion that writes a quantised model folder.
    public init(input: URL, output: URL, quantize: WeightQuantization, dtype: DType? = nil) {
        self.init(input: input, output: output, dtype: dtype, layout: .modelFolder)
        self.quantize = quantize
    }

    public var outputKind: Output {
        if let gguf { return .gguf(gguf) }
        if let layout { return layout }
        if output.pathExtension.lowercased() == "gguf" { return .gguf(.f32) }
        return ["pth", "pt", "bin", "ckpt", "safetensors"].contains(output.pathExtension.lowercased()) ? .weightsFile : .modelFolder
    }

    /// Runs the conversion; returns a one-line summary.
    @discardableResult
    public func run() throws -> String {
        let source = try ModelSource.open(input)
        if let config = source.config, config.quantization != nil || config.lowRank != nil {
            throw ModelError.unsupported("\(input.path) holds quantised or low-rank layers; convert reads float models (convert the model they were made from)")
        }
        if quantize != nil && outputKind != .modelFolder {
            throw ConversionError.quantizedNeedsFolder(output: output.lastPathComponent)
        }
        var state = source.state
        if let dtype { state = try Self.converting(state, to: dtype) }
        switch outputKind {
        case .weightsFile:
            guard preset == nil, configFile == nil else {
                throw ConversionError.configForWeightsFile(output: output.lastPathComponent)
            }
            try Checkpoint.save(state, to: output)
            return "wrote \(output.path): \(state.count) tensors"
        case .modelFolder:
            return try writeFolder(source: source, state: state)
        case .gguf(let type):
            return try writeGGUF(source: source, type: type)
        case .transformersLM:
            let lm = try languageModel(source)
            try TransformersLMExport.write(lm, tokenizerFiles: tokenizer ?? source.tokenizerFolder,
                                           dtype: dtype ?? .f32, to: output)
            return "wrote \(output.path): \(lm.config.qkNorm ? "Qwen3ForCausalLM" : "LlamaForCausalLM") folder (the language model alone)"
        case .transformers:
            return try writeTransformers(source: source, state: state)
        }
    }

    /// Upstream's transformers layout: the decoder and projector with the resolved configuration;
    /// the vision folder (--vision or the source's) only sets the image-token count and is not copied.
    private func writeTransformers(source: ModelSource, state: StateDict) throws -> String {
        let given = try configFile.map { try ModelSource.readConfig($0) }
        let encoder = try (vision ?? source.visionFolder).map { try ViTVisionEncoder.load(folder: $0) }
        let config = try ModelConversion.resolveConfig(shapes: Weights.shapes(state), own: source.config(vision: encoder?.config) ?? given,
                                                       preset: preset, vision: encoder?.config)
        let tower: VisionEncoder = encoder ?? MissingVisionEncoder(config: config.vision)
        let model = try MiniMindVLM(config: config, language: try MiniMindLM(config: config.language),
                                    projector: MiniMindVLM.makeProjector(config, seed: 0), vision: tower)
        try model.loadReleaseWeights(state)
        let generation = try source.tokenizerFolder.flatMap { try GenerationConfig.load(folder: $0, vocabularySize: config.language.vocabSize) }
        let dtype = self.dtype ?? Self.commonFloatType(state)
        try TransformersVLMExport.write(model, tokenizerFiles: tokenizer ?? source.tokenizerFolder, generation: generation,
                                        dtype: dtype, to: output)
        return "wrote \(output.path): upstream MiniMind-V transformers folder (\(dtype.rawValue); no vision weights: load it with --vision DIR)"
    }

    /// The source's language model with its resolved configuration.
    private func languageModel(_ source: ModelSource) throws -> MiniMindLM {
        let given = try configFile.map { try ModelSource.readConfig($0) }
        let config = try ModelConversion.resolveConfig(shapes: Weights.shapes(source.state), own: source.config ?? given,
                                                       preset: preset, vision: nil)
        let lm = try MiniMindLM(config: config.language)
        try lm.loadLanguageWeights(source.state)
        return lm
    }

    private func writeGGUF(source: ModelSource, type: GGUFExport.WeightType) throws -> String {
        guard dtype == nil else { throw ConversionError.dtypeForGGUF }
        guard let tokenizerURL = tokenizer ?? source.tokenizerFolder else {
            throw ConversionError.ggufNeedsTokenizer
        }
        let lm = try languageModel(source)
        let config = lm.config
        let name = input.deletingPathExtension().lastPathComponent
        try GGUFExport.write(lm, tokenizer: try Tokenizer(contentsOf: tokenizerURL), type: type, name: name, to: output)
        return "wrote \(output.path): \(GGUFExport.architecture(of: config)) language model, \(type.rawValue) (the vision tower and projector stay in the model folder)"
    }

    private func writeFolder(source: ModelSource, state: StateDict) throws -> String {
        let given = try configFile.map { try ModelSource.readConfig($0) }
        if given != nil && source.config != nil {
            throw ConversionError.configGivenTwice(input: input.path)
        }
        let visionURL = vision ?? source.visionFolder
        let tokenizerURL = tokenizer ?? source.tokenizerFolder
        let encoder = try visionURL.map { try ViTVisionEncoder.load(folder: $0) }
        let config = try ModelConversion.resolveConfig(shapes: Weights.shapes(state), own: source.config(vision: encoder?.config) ?? given,
                                                       preset: preset, vision: encoder?.config)
        let dtype = self.dtype ?? Self.commonFloatType(state)
        guard let encoder, let tokenizerURL else {
            if quantize != nil {
                throw ConversionError.quantizedNeedsVisionAndTokenizer
            }
            // Weights and config only: check the weights fit the decoder and projector exactly first.
            try Self.checkWeights(state, fit: config)
            try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
            try Self.jsonData(config).write(to: output.appendingPathComponent("config.json"), options: .atomic)
            try Safetensors.write(state, to: output.appendingPathComponent("model.safetensors"))
            return "wrote \(output.path)/config.json and model.safetensors (\(state.count) tensors); add --vision and --tokenizer for a complete model folder"
        }
        let lm = try MiniMindLM(config: config.language)
        let model = try MiniMindVLM(config: config, language: lm, projector: MiniMindVLM.makeProjector(config, seed: 0), vision: encoder)
        try model.loadReleaseWeights(state)
        let generation = try GenerationConfig.load(folder: tokenizerURL, vocabularySize: config.language.vocabSize)
        let bundle = try VLMBundle(model: model, tokenizer: try Tokenizer(contentsOf: tokenizerURL), generation: generation)
        var quantized = ""
        if let quantize {
            let count = try QuantizedWeights.quantize(lm, quantize)
            quantized = ", \(count) linear layers \(quantize.scheme) with \(quantize.scaleDType) scales"
        }
        try bundle.save(to: output, tokenizerFiles: tokenizerURL, dtype: dtype)
        return "wrote model folder \(output.path) (\(dtype.rawValue)\(quantized))"
    }

    /// The configuration of the converted model. `own`: the source's config.json (or --config),
    /// which wins and must agree with a preset if one is given; otherwise a preset (checked against
    /// the shapes) or the one preset the shapes describe. Weights whose shapes leave the head count
    /// open (no QK-norm) and match no preset are refused rather than guessed.
    public static func resolveConfig(shapes: [String: [Int]], own: VLMConfig?, preset: VLMPreset?,
                                     vision: VisionConfig?) throws -> VLMConfig {
        var config: VLMConfig
        if let own {
            config = own
            if let preset {
                let differences = Self.differences(preset.config, own)
                guard differences.isEmpty else {
                    throw ConversionError.presetContradictsConfig(preset: preset.rawValue, differences: differences)
                }
            }
        } else if let preset {
            config = preset.config
            let inferred = try ConfigInference.language(from: shapes)
            let differences = Self.shapeDifferences(config.language, inferred)
            guard differences.isEmpty else {
                throw ConversionError.presetContradictsWeights(preset: preset.rawValue, differences: differences)
            }
        } else if let matching = ConfigInference.matchingPreset(for: shapes) {
            config = matching.config
        } else {
            let inferred = try ConfigInference.language(from: shapes)
            guard inferred.qkNorm else {
                throw ModelError.ambiguousConfig("the weights match no preset and do not say how many attention heads they split into (\(inferred.numAttentionHeads * inferred.headDim) query rows)")
            }
            config = try ConfigInference.vlm(from: shapes)
        }
        if let projector = ConfigInference.projector(from: shapes), projector.kind != config.projector {
            throw ModelError.incompatible("the weights hold a \(projector.kind.rawValue) projector, the configuration says \(config.projector.rawValue)")
        }
        if let vision {
            if own != nil, config.vision != vision {
                throw ModelError.incompatible("the vision folder's config differs from the model's own (\(Self.visionSummary(vision)) vs \(Self.visionSummary(config.vision)))")
            }
            config.vision = vision
        }
        try config.validate()
        return config
    }

    /// Fields of two configurations that differ (language, projector, image placeholder, vision size).
    static func differences(_ a: VLMConfig, _ b: VLMConfig) -> [String] {
        var out: [String] = []
        func check<T: Equatable>(_ name: String, _ x: T, _ y: T) { if x != y { out.append("\(name) \(x) vs \(y)") } }
        let (p, q) = (a.language, b.language)
        check("vocab_size", p.vocabSize, q.vocabSize); check("hidden_size", p.hiddenSize, q.hiddenSize)
        check("num_hidden_layers", p.numHiddenLayers, q.numHiddenLayers)
        check("num_attention_heads", p.numAttentionHeads, q.numAttentionHeads)
        check("num_key_value_heads", p.numKeyValueHeads, q.numKeyValueHeads); check("head_dim", p.headDim, q.headDim)
        check("intermediate_size", p.intermediateSize, q.intermediateSize); check("qk_norm", p.qkNorm, q.qkNorm)
        check("rms_norm_eps", p.rmsNormEps, q.rmsNormEps); check("rope_theta", p.ropeTheta, q.ropeTheta)
        check("max_position_embeddings", p.maxPositionEmbeddings, q.maxPositionEmbeddings)
        check("use_moe", p.moe != nil, q.moe != nil)
        if let m = p.moe, let n = q.moe { check("moe", "\(m)", "\(n)") }
        check("projector", a.projector.rawValue, b.projector.rawValue)
        check("image placeholder", a.imagePlaceholder, b.imagePlaceholder); check("image token id", a.imageTokenId, b.imageTokenId)
        check("vision", visionSummary(a.vision), visionSummary(b.vision))
        return out
    }

    /// Fields a state dict's shapes determine, where a configuration disagrees with them.
    static func shapeDifferences(_ config: LanguageModelConfig, _ inferred: LanguageModelConfig) -> [String] {
        var out: [String] = []
        func check(_ name: String, _ x: Int, _ y: Int) { if x != y { out.append("\(name) \(x) in the preset, \(y) in the weights") } }
        check("vocab_size", config.vocabSize, inferred.vocabSize); check("hidden_size", config.hiddenSize, inferred.hiddenSize)
        check("num_hidden_layers", config.numHiddenLayers, inferred.numHiddenLayers)
        check("query rows", config.numAttentionHeads * config.headDim, inferred.numAttentionHeads * inferred.headDim)
        check("key rows", config.numKeyValueHeads * config.headDim, inferred.numKeyValueHeads * inferred.headDim)
        check("intermediate_size", config.intermediateSize, inferred.intermediateSize)
        if config.qkNorm != inferred.qkNorm { out.append("qk_norm \(config.qkNorm) in the preset, \(inferred.qkNorm) in the weights") }
        if inferred.qkNorm { check("head_dim", config.headDim, inferred.headDim) }
        check("experts", config.moe?.numExperts ?? 0, inferred.moe?.numExperts ?? 0)
        check("shared experts", config.moe?.sharedExperts ?? 0, inferred.moe?.sharedExperts ?? 0)
        return out
    }

    static func visionSummary(_ v: VisionConfig) -> String {
        "\(v.kind.rawValue) hidden \(v.hiddenSize), \(v.numHiddenLayers) layers, \(v.imageSize) px / patch \(v.patchSize)"
    }

    /// Every decoder and projector weight is present with its shape, and nothing else but vision keys.
    static func checkWeights(_ state: StateDict, fit config: VLMConfig) throws {
        var expected = Dictionary(uniqueKeysWithValues: try MiniMindLM(config: config.language).stateDict().map { ($0.0, $0.1.shape) })
        for (k, t) in MiniMindVLM.makeProjector(config, seed: 0).stateDict() { expected["vision_proj." + k] = t.shape }
        var shapes = Weights.shapes(state).filter { !$0.key.hasPrefix("vision_encoder.") }
        if config.language.tieWordEmbeddings && shapes["lm_head.weight"] == nil { shapes["lm_head.weight"] = expected["lm_head.weight"] }
        let modern = Weights.mapLegacyNames(shapes, heads: 1, kvHeads: 1) { shape, _ in shape }
        try checkKeys(expected: expected, shapes: modern).check()
    }

    static func converting(_ state: StateDict, to dtype: DType) throws -> StateDict {
        var out = state
        for (name, t) in state.entries where [.f32, .f16, .bf16, .f64].contains(t.dtype) { out[name] = try t.converted(to: dtype) }
        return out
    }

    /// The one floating-point dtype all float tensors share (f32 when they differ or there are none).
    static func commonFloatType(_ state: StateDict) -> DType {
        let floats = Set(state.entries.map(\.tensor.dtype).filter { [.f32, .f16, .bf16].contains($0) })
        return floats.count == 1 ? floats.first! : .f32
    }

    static func jsonData<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(value)
    }
}
