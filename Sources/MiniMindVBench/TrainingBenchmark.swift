import Foundation
import MiniMindV

/// Training speed of a preset with random weights, measured the way Scripts/bench_torch_train.py
/// measures PyTorch: (a) one optimizer step (forward + backward + clip + AdamW) on a fixed padded
/// batch; (b) a whole one-epoch recipe on synthetic samples of mixed lengths. Both sides build the
/// same data from `SyntheticTrainingData` (a 64-bit LCG and `sin`, reproducible in Python), so
/// with the same weights (`writeWeights`) the recipe losses can be compared step by step.
public enum TrainingBenchmark {
    public struct StepResult: Codable, Sendable {
        public var stage: String
        public var batch: Int
        public var length: Int
        public var trainableParameters: Int
        public var step: Timing
        public var threads: Int
    }

    public struct RecipeResult: Codable, Sendable {
        public var stage: String
        public var samples: Int
        public var epochs: Int
        public var batch: Int
        public var maxSeqLen: Int
        public var padToMaxLength: Bool
        public var lengthBuckets: Int?
        /// Seconds of the one-time vision-encoder pass over every image (the feature cache fill).
        public var encoderSeconds: Double
        public var trainSeconds: Double
        public var realTokens: Int
        public var losses: [Double]
        public var threads: Int
    }

    static func recipe(_ stage: TrainingRecipe.Stage, config: VLMConfig, batch: Int, maxSeqLen: Int) -> TrainingRecipe {
        var r = stage == .pretrain ? TrainingRecipe.pretrain(for: config) : TrainingRecipe.sft(for: config)
        r.batchSize = batch
        r.maxSeqLen = maxSeqLen
        r.epochs = 1
        r.shuffle = false
        r.saveInterval = Int.max / 2
        r.augmentation = nil
        r.precision = Compute.precision  // `--compute bf16` trains in bf16 (recipe.precision)
        return r
    }

    /// (a) Mean ± stddev of one optimizer step on `batch` samples of exactly `length` inputs
    /// (length + 1 tokens each, one image run, every position after the image counted).
    public static func step(preset: VLMPreset, stage: TrainingRecipe.Stage, batch: Int, length: Int,
                            warmup: Int, repetitions: Int, seed: UInt64) throws -> StepResult {
        let config = preset.config
        let model = try MiniMindVLM(config: config, seed: seed)
        let data = SyntheticTrainingData(config: config)
        let samples = (0..<batch).map { data.sample(index: $0, length: length + 1) }
        let trainer = try VLMTrainer(model: model, recipe: recipe(stage, config: config, batch: batch, maxSeqLen: length + 1),
                                     samples: PreparedSamples(samples))
        let trainable = trainer.optimizer.parameters.reduce(0) { $0 + $1.count }
        let fixed = TrainingBatch(samples)
        model.train()
        let leavePrecision = trainer.enterPrecision()  // as `run()`: bf16 weight copies once per step
        defer { leavePrecision() }
        var failure: Error?
        let timing = Timing.measure(warmup: warmup, repetitions: repetitions) {
            do {
                trainer.optimizer.zeroGrad()
                let loss = try trainer.loss(fixed)
                loss.backward()
                // As `VLMTrainer.run()` for one process: the clip's factor and the bf16 refresh in AdamW's pass.
                let clip = gradientClip(trainer.optimizer.parameters, maxNorm: 1.0)
                trainer.optimizer.step(gradientScale: clip.scale, refreshingBFloat16Copies: Compute.effectivePrecision == .bf16)
            } catch { failure = error }
        }
        if let failure { throw failure }
        return StepResult(stage: stage.rawValue, batch: batch, length: fixed.length, trainableParameters: trainable,
                          step: timing, threads: Threads.count)
    }

    /// The shape of the synthetic recipe data: how many text tokens follow the image (uniform in
    /// `textTokens`, capped by max_seq_len) and how many of them are an uncounted prompt.
    public struct DataShape: Sendable {
        public var textTokens: ClosedRange<Int>?
        public var promptTokens: Int
        public init(textTokens: ClosedRange<Int>? = nil, promptTokens: Int = 0) {
            self.textTokens = textTokens
            self.promptTokens = promptTokens
        }
    }

    /// (b) `epochs` epochs of the preset's recipe over `samples` synthetic samples of mixed lengths.
    /// `weights`: start from these release weights (the file the PyTorch side also loads).
    /// The encoder pass runs once per image on random pixels (timed: it is what the feature cache
    /// costs); the features the model trains on are the synthetic ones, shared with PyTorch.
    public static func recipeRun(preset: VLMPreset, stage: TrainingRecipe.Stage, samples count: Int, epochs: Int = 1,
                                 batch: Int, maxSeqLen: Int, shape: DataShape = DataShape(), padToMaxLength: Bool,
                                 lengthBuckets: Int? = nil, weights: URL?, encoder: Bool,
                                 seed: UInt64) throws -> RecipeResult {
        let config = preset.config
        let model = try MiniMindVLM(config: config, seed: seed)
        if let weights { try model.loadReleaseWeights(try Weights.read(weights), allowMissingProjector: false) }
        let data = SyntheticTrainingData(config: config, promptTokens: shape.promptTokens)
        let lengths = data.lengthRange(textTokens: shape.textTokens, maxSeqLen: maxSeqLen)
        let samples = (0..<count).map { data.sample(index: $0, length: data.length(index: $0, in: lengths)) }
        var encoderSeconds = 0.0
        if encoder {
            var g = SeededGenerator(seed: seed &+ 7)
            let size = config.vision.imageSize
            let start = monotonicSeconds()
            for _ in 0..<count {
                let pixels = Tensor.randn([1, 3, size, size], generator: &g)
                _ = model.visionFeatures(pixels)
            }
            encoderSeconds = monotonicSeconds() - start
        }
        var r = recipe(stage, config: config, batch: batch, maxSeqLen: maxSeqLen)
        r.padToMaxLength = padToMaxLength
        r.epochs = epochs
        r.lengthBuckets = lengthBuckets
        let trainer = try VLMTrainer(model: model, recipe: r, samples: PreparedSamples(samples))
        let start = monotonicSeconds()
        let summary = try trainer.run()
        let trainSeconds = monotonicSeconds() - start
        let real = samples.reduce(0) { $0 + $1.ids.count - 1 } * epochs
        return RecipeResult(stage: stage.rawValue, samples: count, epochs: epochs, batch: batch, maxSeqLen: maxSeqLen,
                            padToMaxLength: padToMaxLength, lengthBuckets: lengthBuckets,
                            encoderSeconds: encoderSeconds, trainSeconds: trainSeconds, realTokens: real,
                            losses: summary.losses, threads: Threads.count)
    }

    /// Writes the random-weight model of `preset` (release layout, float32 safetensors) for PyTorch.
    public static func writeWeights(preset: VLMPreset, seed: UInt64, to url: URL) throws {
        let model = try MiniMindVLM(config: preset.config, seed: seed)
        try Safetensors.write(try StateDict(module: model, dtype: .f32), to: url)
    }
}

/// Deterministic samples both benchmarks build identically (Scripts/bench_torch_train.py mirrors
/// this): token 1, one run of `imageTokens` image ids, then LCG text tokens; labels count every
/// text token after the first `promptTokens`. Features are sin(0.37 · flat index) / 2 per image,
/// computed in Double.
public struct SyntheticTrainingData {
    public let config: VLMConfig
    public let promptTokens: Int
    public init(config: VLMConfig, promptTokens: Int = 0) {
        self.config = config
        self.promptTokens = promptTokens
    }

    static func lcg(_ s: inout UInt64) -> UInt64 {
        s = s &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return s >> 33
    }

    /// Sample lengths (tokens) for `textTokens` text tokens after the image, capped at max_seq_len;
    /// default 7…(maxSeqLen − image run).
    public func lengthRange(textTokens: ClosedRange<Int>?, maxSeqLen: Int) -> ClosedRange<Int> {
        let head = config.imageTokens + 1
        let text = textTokens ?? 7...max(7, maxSeqLen - head)
        let low = min(head + text.lowerBound, maxSeqLen)
        return low...max(low, min(head + text.upperBound, maxSeqLen))
    }

    /// Mixed lengths: uniform in `range`.
    public func length(index: Int, in range: ClosedRange<Int>) -> Int {
        var s = UInt64(index) &+ 1_000_003
        return range.lowerBound + Int(Self.lcg(&s) % UInt64(range.count))
    }

    public func sample(index: Int, length: Int) -> TrainingSample {
        let n = config.imageTokens
        let vocab = config.language.vocabSize
        var s = UInt64(index) &* 7919 &+ 17
        var ids = [1] + [Int](repeating: config.imageTokenId, count: n)
        var labels = [Int](repeating: TrainingSample.ignoreLabel, count: n + 1)
        while ids.count < length {
            var t = 2 + Int(Self.lcg(&s) % UInt64(vocab - 2))
            if t == config.imageTokenId { t = 3 }
            labels.append(ids.count - n - 1 < promptTokens ? TrainingSample.ignoreLabel : t)
            ids.append(t)
        }
        return TrainingSample(ids: Array(ids.prefix(length)), labels: Array(labels.prefix(length)),
                              images: [.features(features(index: index))], name: "synthetic-\(index)")
    }

    public func features(index: Int) -> Tensor {
        let n = config.imageTokens, d = config.vision.hiddenSize
        let out = Tensor.uninitialized([n, d])
        let p = out.mutablePointer
        let base = index * n * d
        for i in 0..<(n * d) { p[i] = Float(sin(Double(base + i) * 0.37) * 0.5) }
        return out
    }
}
