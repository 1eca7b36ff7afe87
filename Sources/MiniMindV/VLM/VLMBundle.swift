import Foundation

/// A ready-to-use model: the VLM, its tokenizer and chat template. Loads the two layouts people
/// have on disk and saves our single-folder layout.
///
/// Model folder (what `save(to:)` and `minimind-v convert` write):
///     config.json            VLMConfig (language fields use the upstream names; `quantization`
///                            and `lowRank` when layers are stored quantised or factorised)
///     model.safetensors      release keys: model.*, lm_head.weight, vision_proj.* (Docs/Formats.md)
///     tokenizer.json, tokenizer_config.json
///     generation_config.json (optional) GenerationConfig: sampling defaults and the prompts the model was trained with
///     vision/                a Hugging Face vision folder (config.json, model.safetensors, preprocessor_config.json)
///
///     let bundle = try VLMBundle.load(folder: URL(fileURLWithPath: "demo-out/model"))
///     let generator = Generator(bundle: bundle)          // or ChatSession, VLMTrainer, Evaluator
///     // upstream's files: .load(weights: pth, vision: clipFolder, tokenizer: tokenizerFolder)
public final class VLMBundle {
    public let model: MiniMindVLM
    public let tokenizer: Tokenizer
    public let template: ChatTemplate
    /// The folder's generation_config.json (nil: it has none, e.g. release weights).
    public var generation: GenerationConfig?

    /// Refuses a tokenizer whose ids the model has no embedding row for (`ModelError.vocabularyMismatch`)
    /// and special ids outside the vocabulary (`ModelError.tokenIdOutOfRange`): otherwise they would
    /// reach the embedding's range precondition at the first prompt or training batch.
    public init(model: MiniMindVLM, tokenizer: Tokenizer, generation: GenerationConfig? = nil) throws {
        let rows = model.language.embeddingTable.shape[0]
        guard tokenizer.maxTokenID < rows else {
            throw ModelError.vocabularyMismatch(tokenizer: tokenizer.maxTokenID + 1, model: rows)
        }
        let language = model.config.language
        let special = [("eos", language.eosTokenId), ("bos", language.bosTokenId), ("pad", language.padTokenId),
                       ("image", model.config.imageTokenId)]
        for (name, id) in special where !(0..<rows).contains(id) {
            throw ModelError.tokenIdOutOfRange(name: name, id: id, vocabulary: rows)
        }
        self.model = model
        self.tokenizer = tokenizer
        self.generation = generation
        template = try ChatTemplate(tokenizer: tokenizer)
    }

    /// The question a caption asks: the model's own (generation_config.json), else upstream's.
    public var captionPrompt: String { generation?.captionPrompt ?? GenerationConfig.upstreamCaptionPrompt }

    /// Loads a model folder written by `save(to:)`.
    public static func load(folder url: URL) throws -> VLMBundle {
        let configURL = url.appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: configURL.path) else {
            throw ModelError.missingFile("\(configURL.path) (a MiniMindV model folder has config.json, model.safetensors, tokenizer.json and vision/)")
        }
        let config = try JSONDecoder().decode(VLMConfig.self, from: Data(contentsOf: configURL))
        // Without vision/ the folder still serves text prompts; images are then refused.
        let visionURL = url.appendingPathComponent("vision")
        let vision: VisionEncoder = FileManager.default.fileExists(atPath: visionURL.appendingPathComponent("config.json").path)
            ? try ViTVisionEncoder.load(folder: visionURL) : MissingVisionEncoder(config: config.vision)
        let language = try MiniMindLM(config: config.language)
        var state = try Weights.read(url.appendingPathComponent("model.safetensors"))
        // Low-rank and quantised layers take their own form before the strict load of the rest.
        if let ranks = config.lowRank { try LowRankLinear.factorize(language, ranks: ranks) }
        if let quantization = config.quantization { state = try QuantizedWeights.load(state, into: language, quantization) }
        let model = try MiniMindVLM(config: config, language: language,
                                    projector: MiniMindVLM.makeProjector(config, seed: 0), vision: vision)
        try model.loadReleaseWeights(state)
        model.eval()
        return try VLMBundle(model: model, tokenizer: try Tokenizer(contentsOf: url),
                             generation: try GenerationConfig.load(folder: url, vocabularySize: config.language.vocabSize))
    }

    /// Loads the upstream release layout: a weights file (`sft_vlm_512.pth`, safetensors, …), a vision
    /// folder and a tokenizer folder. Without a preset the configuration is inferred from the weights.
    /// Without a vision folder the model takes text only (images are refused with a clear error).
    public static func load(weights: URL, vision: URL?, tokenizer: URL, preset: VLMPreset? = nil) throws -> VLMBundle {
        let state = try Weights.read(weights)
        var config = try preset?.config ?? ConfigInference.vlm(from: Weights.shapes(state))
        let encoder: VisionEncoder
        if let vision {
            let tower = try ViTVisionEncoder.load(folder: vision)
            config.vision = tower.config
            encoder = tower
        } else {
            encoder = MissingVisionEncoder(config: config.vision)
        }
        let model = try MiniMindVLM(config: config, language: try MiniMindLM(config: config.language),
                                    projector: MiniMindVLM.makeProjector(config, seed: 0), vision: encoder)
        try model.loadReleaseWeights(state)
        model.eval()
        return try VLMBundle(model: model, tokenizer: try Tokenizer(contentsOf: tokenizer))
    }

    /// One entry point for both layouts: a model folder (config.json + vision/), or release weights
    /// with a `tokenizer` folder and, for images, a `vision` folder.
    public static func load(path: URL, vision: URL?, tokenizer: URL?, preset: VLMPreset? = nil) throws -> VLMBundle {
        var isDir: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path.path, isDirectory: &isDir)
        guard exists else { throw ModelError.missingFile(path.path) }
        if isDir.boolValue && (try? ModelSource.readConfig(path.appendingPathComponent("config.json"))) != nil {
            return try load(folder: path)
        }
        guard let tokenizer else {
            throw ModelError.tokenizerMissing(weights: path.path)
        }
        return try load(weights: path, vision: vision, tokenizer: tokenizer, preset: preset)
    }

    /// Writes the model folder (atomically per file). `tokenizerFiles`: the folder holding
    /// tokenizer.json and tokenizer_config.json to copy.
    /// `dtype`: how model.safetensors stores the weights (f32, or f16/bf16 rounded to nearest even).
    public func save(to url: URL, tokenizerFiles: URL, dtype: DType = .f32) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: url, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        // The configuration records the layers' current form (quantised, low-rank), whose tensors join the float ones.
        var config = model.config
        var state = try StateDict(module: model, dtype: dtype)
        if let lm = model.language as? any CompressibleLanguageModel {  // a model without the capability has only float layers
            config.quantization = lm.weightQuantization
            config.lowRank = LowRankLinear.ranks(of: lm)
            for (name, tensor) in try QuantizedWeights.entries(of: lm) { state[name] = tensor }
        }
        try encoder.encode(config).write(to: url.appendingPathComponent("config.json"), options: .atomic)
        try Safetensors.write(state, to: url.appendingPathComponent("model.safetensors"),
                                    metadata: ["format": "pt", "producer": "MiniMindV"])
        for name in ["tokenizer.json", "tokenizer_config.json"] {
            let src = tokenizerFiles.appendingPathComponent(name), dst = url.appendingPathComponent(name)
            guard fm.fileExists(atPath: src.path) else { continue }
            try Data(contentsOf: src).write(to: dst, options: .atomic)
        }
        try generation?.write(folder: url)
        try model.vision.save(folder: url.appendingPathComponent("vision"))
    }
}

extension StateDict {
    /// A module's state dict as float32 tensors (tied keys written once each, as PyTorch does).
    public init(module: Module, dtype: DType = .f32) throws {
        self.init()
        for (name, tensor) in module.stateDict() { self[name] = try TensorData(tensor: tensor, dtype: dtype) }
    }
}

extension ViTVisionEncoder {
    /// Writes a Hugging Face-style vision folder this encoder loads back.
    public func save(folder url: URL) throws {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(config).write(to: url.appendingPathComponent("config.json"), options: .atomic)
        try Safetensors.write(try StateDict(module: self), to: url.appendingPathComponent("model.safetensors"),
                                    metadata: ["format": "pt", "producer": "MiniMindV"])
        try preprocessing.preprocessorConfigJSON().write(to: url.appendingPathComponent("preprocessor_config.json"), options: .atomic)
    }
}

extension ImagePreprocessing {
    /// A `preprocessor_config.json` that `ImagePreprocessing(preprocessorConfig:)` (and transformers) read back.
    public func preprocessorConfigJSON() throws -> Data {
        var json: [String: Any] = ["resample": resample.rawValue,
                                   "image_processor_type": kind == .clip ? "CLIPImageProcessor" : "SiglipImageProcessor"]
        switch resize {
        case .shortestEdge(let n)?: json["do_resize"] = true; json["size"] = ["shortest_edge": n]
        case .exact(let w, let h)?: json["do_resize"] = true; json["size"] = ["height": h, "width": w]
        case nil: json["do_resize"] = false
        }
        if let crop { json["do_center_crop"] = true; json["crop_size"] = ["height": crop.height, "width": crop.width] }
        else { json["do_center_crop"] = false }
        if let rescaleFactor { json["do_rescale"] = true; json["rescale_factor"] = rescaleFactor } else { json["do_rescale"] = false }
        if let mean, let std { json["do_normalize"] = true; json["image_mean"] = mean; json["image_std"] = std }
        else { json["do_normalize"] = false }
        return try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys])
    }
}
