import Foundation

/// Everything that defines a training run, with upstream's numbers as defaults (Docs/Model.md, "Recipes"). Every
/// field can be changed. The vision encoder is always frozen (it is not part of the trained module).
///
///     var recipe = TrainingRecipe.pretrain(for: config)   // projector only; .sft: projector + LM
///     recipe.learningRate = 4e-3
///     recipe.batchSize = 8
///     recipe.maxSteps = 100
public struct TrainingRecipe: Codable, Equatable, Sendable {
    public enum Stage: String, Codable, Sendable { case pretrain, sft }

    public var stage: Stage
    /// Release file prefix: `pretrain_vlm` → `pretrain_vlm_512.pth`.
    public var weightPrefix: String
    /// Key patterns (`KeyPattern`) of the trainable tensors; everything else is frozen.
    public var trainable: [String]
    /// Patterns frozen again after `trainable` is applied (custom policies).
    public var frozen: [String] = []
    public var learningRate: Double
    public var batchSize: Int
    public var epochs: Int
    public var maxSeqLen: Int
    public var accumulationSteps: Int = 1
    /// Global gradient-norm clip; nil or ≤ 0 turns clipping off.
    public var gradClip: Double? = 1.0
    public var weightDecay: Double = 0.01
    public var beta1: Double = 0.9
    public var beta2: Double = 0.999
    public var eps: Double = 1e-8
    /// 0: upstream's `base·(0.1 + 0.45·(1 + cos(π·t/T)))`; > 0: linear warmup then cosine to 0.1·base.
    public var warmupSteps: Int = 0
    /// Save release weights and the resume file every this many optimizer steps (and at the end).
    public var saveInterval: Int = 100
    public var seed: UInt64 = 42
    public var shuffle: Bool = true
    /// minimind-3v's sampling augmentations (nil: off).
    public var augmentation: ChatAugmentation?
    /// Stop after this many optimizer steps; the schedule keeps its full length.
    public var maxSteps: Int?
    /// A run of exactly this many optimizer steps instead of `epochs` passes: the schedule spans
    /// them (steps × accumulation micro-batches) and the data is repeated, epoch after epoch, as far
    /// as they need. nil: `epochs` decides.
    public var steps: Int?
    public var maxSamples: Int?
    /// Stop at the first malformed row instead of counting and skipping it.
    public var strict: Bool = false
    /// Run every micro-batch at `maxSeqLen` as upstream does. Off: each batch is cut to its longest
    /// sample (the same loss for dense models, less work; MoE routing statistics then see no padding).
    public var padToMaxLength: Bool = false
    /// Length bucketing: the epoch's (shuffled) order is cut into windows of this many batches and
    /// each window is sorted by sample length, longest first, so a batch holds samples of similar
    /// length and carries little padding. nil or ≤ 1: off (upstream's order). Deterministic for
    /// the seed and epoch; it changes which samples share a batch, not which samples an epoch sees.
    public var lengthBuckets: Int?
    /// Precision of the large matrix products while training: `.f32` (nil: exact parity) or `.bf16`
    /// (bfloat16 inputs, float32 accumulation; float32 master weights and optimizer state).
    /// Optional so that resume files written before the field existed still decode.
    public var precision: ComputePrecision?
    /// LoRA fine-tuning (nil: off): the trainer attaches these adapters (unless the model has some)
    /// and trains them alone — `trainable` and `frozen` are then not used — and saves them in PEFT's
    /// layout (adapter_config.json + adapter_model.safetensors) instead of the release weights.
    public var lora: LoRAConfig?

    // Remedies (TrainingRemedies.swift, Docs/Training.md "When the model goes wrong"); optional so
    // resume files written before they existed still decode.
    /// Dropout rate while training (nil: the model config's `dropout`, upstream's meaning; 0 at inference).
    public var dropout: Double?
    /// Label smoothing ε of the language cross-entropy (nil or 0: none).
    public var labelSmoothing: Double?
    /// Stop when the validation loss stops improving, keeping the best weights (nil: off).
    public var earlyStopping: EarlyStopping?
    /// Per-token weights on the language loss (nil: every counted token weighs 1).
    public var lossWeights: LossWeights?
    /// The projector's learning rate as a multiple of the base rate (nil: 1).
    public var projectorLRRatio: Double?
    /// Seeded image augmentation of training pictures before the frozen encoder (nil: off).
    public var imageAugmentation: ImageAugmentation?
    /// Weight of the grounding term (`GroundingObjective`) added to the language loss (nil or 0: off).
    public var groundingWeight: Double?
    /// Which grounding term (nil: `.contrastive`) and, for `.mismatch`, its margin in nats (nil: 1).
    public var groundingTerm: GroundingObjective.Term?
    public var groundingMargin: Double?

    public init(stage: Stage, weightPrefix: String, trainable: [String], learningRate: Double, batchSize: Int,
                epochs: Int, maxSeqLen: Int) {
        self.stage = stage
        self.weightPrefix = weightPrefix
        self.trainable = trainable
        self.learningRate = learningRate
        self.batchSize = batchSize
        self.epochs = epochs
        self.maxSeqLen = maxSeqLen
    }

    /// Upstream's vision-language pretraining for this model: MiniMind2-V trains the projector and
    /// the last LM layer (4e-4, batch 16, 4 epochs, 640 tokens); minimind-3v the projector only
    /// (4e-4, 16, 2 epochs, 450 tokens) with its augmentations.
    public static func pretrain(for config: VLMConfig) -> TrainingRecipe {
        let last = "model.layers.\(config.language.numHiddenLayers - 1)"
        switch config.projector {
        case .linear:
            return TrainingRecipe(stage: .pretrain, weightPrefix: "pretrain_vlm", trainable: ["vision_proj", last],
                                  learningRate: 4e-4, batchSize: 16, epochs: 4, maxSeqLen: 640)
        case .mlp:
            var r = TrainingRecipe(stage: .pretrain, weightPrefix: "pretrain_vlm", trainable: ["vision_proj"],
                                   learningRate: 4e-4, batchSize: 16, epochs: 2, maxSeqLen: 450)
            r.augmentation = ChatAugmentation()
            return r
        }
    }

    /// Upstream's SFT: MiniMind2-V trains the projector and the whole LM (1e-6, batch 4, 2 epochs,
    /// 1536 tokens); minimind-3v the projector and LM layers 0 and last (5e-6, 4, 2 epochs, 768).
    public static func sft(for config: VLMConfig) -> TrainingRecipe {
        let last = "model.layers.\(config.language.numHiddenLayers - 1)"
        switch config.projector {
        case .linear:
            return TrainingRecipe(stage: .sft, weightPrefix: "sft_vlm", trainable: ["vision_proj", "model", "lm_head"],
                                  learningRate: 1e-6, batchSize: 4, epochs: 2, maxSeqLen: 1536)
        case .mlp:
            var r = TrainingRecipe(stage: .sft, weightPrefix: "sft_vlm", trainable: ["vision_proj", "model.layers.0", last],
                                   learningRate: 5e-6, batchSize: 4, epochs: 2, maxSeqLen: 768)
            r.augmentation = ChatAugmentation()
            return r
        }
    }

    /// The recipe's learning-rate schedule over `totalMicroSteps`.
    public func schedule(totalMicroSteps: Int) -> LRSchedule {
        if warmupSteps > 0 {
            return WarmupCosineLR(baseLR: learningRate, warmupSteps: min(warmupSteps, totalMicroSteps),
                                  totalSteps: max(totalMicroSteps, 1), minLRRatio: 0.1)
        }
        return MiniMindCosineLR(baseLR: learningRate, totalSteps: max(totalMicroSteps, 1))
    }

    /// Freezes `model` to this recipe: everything off, `trainable` on, `frozen` off again.
    /// Returns the trainable keys. Throws when a pattern matches nothing.
    @discardableResult
    public func applyFreezePolicy(to model: Module) throws -> [String] {
        model.freeze()
        try model.unfreeze(matching: trainable)
        if !frozen.isEmpty { try model.freeze(matching: frozen) }
        return model.namedParameters(trainableOnly: true).map(\.0)
    }

    /// Checks every number against `TrainingLimits`; errors name the field (`TrainingRecipe.batchSize`), the value and the range.
    public func validate() throws {
        let L = TrainingLimits.self
        try InputRange.check("TrainingRecipe.batchSize", batchSize, in: 1...L.maxBatchSize)
        try InputRange.check("TrainingRecipe.epochs", epochs, in: 1...L.maxEpochs)
        try InputRange.check("TrainingRecipe.maxSeqLen", maxSeqLen, in: 2...ConfigLimits.maxPositions,
                             note: "a sample needs an input and a target token")
        try InputRange.check("TrainingRecipe.accumulationSteps", accumulationSteps, in: 1...L.maxAccumulationSteps)
        try InputRange.check("TrainingRecipe.saveInterval", saveInterval, in: 1...Int.max)
        try InputRange.check("TrainingRecipe.warmupSteps", warmupSteps, in: 0...L.maxMicroSteps)
        try InputRange.check("TrainingRecipe.learningRate", learningRate, in: 0...Double.greatestFiniteMagnitude)
        if let gradClip { try InputRange.check("TrainingRecipe.gradClip", gradClip, in: 0...Double.greatestFiniteMagnitude, note: "0 turns clipping off") }
        try InputRange.check("TrainingRecipe.weightDecay", weightDecay, in: 0...Double.greatestFiniteMagnitude)
        try InputRange.check("TrainingRecipe.beta1", beta1, in: 0...0.999_999_999)
        try InputRange.check("TrainingRecipe.beta2", beta2, in: 0...0.999_999_999)
        try InputRange.check("TrainingRecipe.eps", eps, above: 0, upTo: 1)
        if let maxSteps { try InputRange.check("TrainingRecipe.maxSteps", maxSteps, in: 1...Int.max) }
        if let steps { try InputRange.check("TrainingRecipe.steps", steps, in: 1...(L.maxMicroSteps / accumulationSteps)) }
        if let maxSamples { try InputRange.check("TrainingRecipe.maxSamples", maxSamples, in: 1...Int.max) }
        try lora?.validate()
        if let lengthBuckets {
            try InputRange.check("TrainingRecipe.lengthBuckets", lengthBuckets, in: 0...L.maxLengthBuckets, note: "0 or 1 turns bucketing off")
        }
        try validateRemedies()
    }

    /// Micro-batches of the whole run for `samples` rows, checked so that no position overflows.
    public func totalMicroSteps(samples: Int) throws -> Int {
        if let steps { return steps * accumulationSteps }
        let perEpoch = (samples + batchSize - 1) / batchSize
        return try InputRange.product("TrainingRecipe.epochs × micro-batches per epoch", [epochs, perEpoch], limit: TrainingLimits.maxMicroSteps)
    }
}

/// Upper limits of training numbers: far beyond any real run, low enough that no step, position
/// or window computation can overflow.
public enum TrainingLimits {
    public static let maxBatchSize = 65_536
    public static let maxEpochs = 1_000_000
    public static let maxAccumulationSteps = 1_000_000
    public static let maxLengthBuckets = 1_000_000
    /// Micro-batches of a whole run (epochs × micro-batches per epoch).
    public static let maxMicroSteps = 1 << 40
}
