import Foundation

extension MiniMindVLM {
    /// A model to train: `config` with the given vision encoder, random weights (seeded) unless
    /// `startWeights` are given. Pretraining starts from a language-only checkpoint (`llm_512.pth`),
    /// so `allowMissingProjector` keeps the projector's initialisation when the file has none.
    public static func forTraining(config: VLMConfig, vision: any VisionEncoder, startWeights: StateDict?,
                                   allowMissingProjector: Bool, seed: UInt64 = 0) throws -> MiniMindVLM {
        var config = config
        if let tower = vision.visionConfig { config.vision = tower }
        let model = try MiniMindVLM(config: config, language: try MiniMindLM(config: config.language, seed: seed),
                                    projector: makeProjector(config, seed: seed &+ 2), vision: vision)
        if let startWeights { try model.loadReleaseWeights(startWeights, allowMissingProjector: allowMissingProjector) }
        return model
    }
}

extension VLMTrainer {
    /// The usual wiring from a conversation dataset: samples per Docs/Model.md, "Training samples" (with the recipe's
    /// max_seq_len, augmentation, seed and max_samples), malformed rows counted and skipped (or
    /// thrown when `recipe.strict`), every image's features computed once through the frozen encoder
    /// into `featureCache` (a folder; nil keeps them in memory), then the trainer. `template`
    /// defaults to the one in the tokenizer's tokenizer_config.json; `objective` to the recipe's
    /// (`recipe.defaultObjective`: the language loss, plus grounding when `groundingWeight` > 0).
    public static func forConversations(model: MiniMindVLM, tokenizer: Tokenizer, template: ChatTemplate? = nil,
                                        recipe: TrainingRecipe,
                                        data: ConversationDataset, objective: TrainingObjective? = nil,
                                        featureCache: URL?, outputDirectory: URL?,
                                        warn: @escaping (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) },
                                        progress: (Int, Int) -> Void = { _, _ in }) throws -> VLMTrainer {
        let builder = SampleBuilder(tokenizer: tokenizer, template: try template ?? ChatTemplate(tokenizer: tokenizer), config: model.config,
                                    maxSeqLen: recipe.maxSeqLen, augmentation: recipe.augmentation, seed: recipe.seed,
                                    lossWeights: recipe.lossWeights)
        let source = ConversationSampleSource(dataset: data, builder: builder, maxSamples: recipe.maxSamples)
        try source.validate(strict: recipe.strict, warn: warn)
        let cache = try featureCache.map { try VisionFeatureCache(root: $0, encoderIdentity: VisionFeatureCache.identity(of: model.vision)) }
        let extractor = VisionFeatureExtractor(encoder: model.vision, cache: cache)
        try extractor.prepare(source, strict: recipe.strict, warn: warn, progress: progress)
        if !source.skipped.isEmpty {
            warn("skipped \(source.skipped.count) malformed row\(source.skipped.count == 1 ? "" : "s") of \(min(data.count, recipe.maxSamples ?? Int.max)); \(source.count) remain")
        }
        let trainer = try VLMTrainer(model: model, recipe: recipe, samples: source, features: extractor, objective: objective,
                                      outputDirectory: outputDirectory)
        trainer.warn = warn
        return trainer
    }
}
