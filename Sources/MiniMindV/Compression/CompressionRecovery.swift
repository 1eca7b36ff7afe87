// A short fine-tune after compression (pruning, low-rank factors): the ordinary SFT recipe and
// `VLMTrainer`, run for a fixed number of steps on the compressed model in memory, so that the
// written folder is the recovered model. One implementation for every `compress` subcommand.
import Foundation

public struct CompressionRecovery: Sendable {
    /// Optimizer steps; the cosine schedule spans exactly these.
    public var steps: Int
    /// nil: the model's SFT recipe (`TrainingRecipe.sft(for:)`).
    public var learningRate: Double?
    public var batchSize: Int?
    /// nil: the SFT recipe's, capped at the model's positions.
    public var maxSeqLen: Int?
    public var seed: UInt64 = 42

    public init(steps: Int, learningRate: Double? = nil, batchSize: Int? = nil, maxSeqLen: Int? = nil, seed: UInt64 = 42) {
        self.steps = steps
        self.learningRate = learningRate
        self.batchSize = batchSize
        self.maxSeqLen = maxSeqLen
        self.seed = seed
    }

    /// Checks the numbers before anything is loaded; errors name the field (`CompressionRecovery.steps`).
    public func validate() throws {
        try InputRange.check("CompressionRecovery.steps", steps, in: 1...1_000_000_000)
        if let learningRate { try InputRange.check("CompressionRecovery.learningRate", learningRate, above: 0, upTo: 1) }
        if let batchSize { try InputRange.check("CompressionRecovery.batchSize", batchSize, in: 1...TrainingLimits.maxBatchSize) }
        if let maxSeqLen { try InputRange.check("CompressionRecovery.maxSeqLen", maxSeqLen, in: 2...ConfigLimits.maxPositions) }
    }

    /// The SFT recipe for `config` with these settings: the projector and the whole language model
    /// train (a low-rank layer's two factors are ordinary linear layers, so they train too).
    public func recipe(for config: VLMConfig) throws -> TrainingRecipe {
        var r = TrainingRecipe.sft(for: config)
        r.weightPrefix = "recover_vlm"
        r.trainable = ["vision_proj", "model", "lm_head"]
        r.augmentation = nil
        r.steps = steps
        r.seed = seed
        if let learningRate { r.learningRate = learningRate }
        if let batchSize { r.batchSize = batchSize }
        let positions = config.language.maxPositionEmbeddings
        if let maxSeqLen {
            try InputRange.check("CompressionRecovery.maxSeqLen", maxSeqLen, in: 2...positions, note: "the model has \(positions) positions")
            r.maxSeqLen = maxSeqLen
        } else {
            r.maxSeqLen = min(r.maxSeqLen, positions)
        }
        try r.validate()
        return r
    }

    /// Fine-tunes `bundle.model` in place on `data` and leaves it frozen in eval mode. Returns the
    /// run's summary (per-step losses: the first and last say what the recovery did to the loss).
    @discardableResult
    public func run(_ bundle: VLMBundle, data: ConversationDataset, callbacks: [TrainingCallback] = [],
                    warn: @escaping (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }) throws -> TrainingSummary {
        let model = bundle.model
        let trainer = try VLMTrainer.forConversations(model: model, tokenizer: bundle.tokenizer, template: bundle.template,
                                                      recipe: try recipe(for: model.config), data: data,
                                                      featureCache: nil, outputDirectory: nil, warn: warn)
        trainer.callbacks = callbacks
        let summary = try trainer.run()
        model.freeze()
        model.eval()
        return summary
    }
}
