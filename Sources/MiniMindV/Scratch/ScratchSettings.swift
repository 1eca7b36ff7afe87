// Sizes and stage settings of a from-scratch run. A preset (`tiny`, `small`, `base`) fixes the
// model widths and the default step counts; the sizes left nil are taken from the data (image size
// and patch from the images, positions from the longest sample), and every value can be set.
import Foundation

/// One training stage: optimizer steps (the cosine schedule spans them), batch and peak rate.
public struct ScratchStageSettings: Codable, Sendable, Equatable {
    public var steps: Int
    public var batch: Int
    public var lr: Double
    public init(steps: Int, batch: Int, lr: Double) {
        self.steps = steps
        self.batch = batch
        self.lr = lr
    }
}

public enum ScratchSize: String, CaseIterable, Codable, Sendable {
    case tiny, small, base
}

public struct ScratchSettings: Codable, Sendable {
    public var seed: UInt64 = 42
    /// BLAS and kernel threads while the recipe runs (restored after); fixed, so results repeat.
    public var threads = 2
    /// A cap: the BPE stops earlier when no pair of tokens occurs twice (the vocabulary the text has).
    public var vocabSize: Int
    /// Square input size of the vision tower (nil: the images' median shorter side, at most `maxImageSize`).
    public var imageSize: Int?
    /// Patch size (nil: imageSize / `grid`).
    public var patchSize: Int?
    /// Patches per side when the patch size comes from the image size.
    public var grid: Int
    public var maxImageSize: Int
    public var lmHidden: Int
    public var lmLayers: Int
    public var lmHeads: Int
    public var visionHidden: Int
    public var visionLayers: Int
    public var visionHeads = 4
    /// Positions of the language model (nil: the longest training sample plus room for an answer).
    public var maxPositions: Int?
    public var text: ScratchStageSettings
    public var vision: ScratchStageSettings
    public var pretrain: ScratchStageSettings
    public var sft: ScratchStageSettings
    /// Fit the four stages' steps into this many minutes (measured step rates); nil: the steps above.
    public var timeBudgetMinutes: Double?
    public var imagePlaceholder = ScratchTokenizer.defaultImagePlaceholder
    /// Held-out SFT samples measured during SFT, ten times per run.
    public var validationSamples = 128
    /// Answer budget of the evaluation (nil: the longest test answer's tokens + 2).
    public var answerTokens: Int?
    /// Answer budget of the caption evaluation.
    public var captionTokens = 48
    /// Optimizer steps between a stage's resume files (nil: a quarter of the stage).
    public var checkpointEvery: Int?

    public static func preset(_ size: ScratchSize, seed: UInt64 = 42) -> ScratchSettings {
        switch size {
        case .tiny:
            return ScratchSettings(seed: seed, vocabSize: 400, grid: 4, maxImageSize: 48, lmHidden: 64, lmLayers: 2, lmHeads: 4,
                                   visionHidden: 64, visionLayers: 2,
                                   text: .init(steps: 200, batch: 32, lr: 3e-3), vision: .init(steps: 300, batch: 64, lr: 2e-3),
                                   pretrain: .init(steps: 200, batch: 32, lr: 4e-3), sft: .init(steps: 1500, batch: 32, lr: 3e-3))
        case .small:
            return ScratchSettings(seed: seed, vocabSize: 1000, grid: 6, maxImageSize: 96, lmHidden: 128, lmLayers: 4, lmHeads: 4,
                                   visionHidden: 128, visionLayers: 3,
                                   text: .init(steps: 400, batch: 32, lr: 2e-3), vision: .init(steps: 600, batch: 64, lr: 1.5e-3),
                                   pretrain: .init(steps: 400, batch: 32, lr: 3e-3), sft: .init(steps: 3000, batch: 32, lr: 2e-3))
        case .base:
            return ScratchSettings(seed: seed, vocabSize: 4000, grid: 8, maxImageSize: 128, lmHidden: 256, lmLayers: 6, lmHeads: 8,
                                   visionHidden: 192, visionLayers: 4,
                                   text: .init(steps: 800, batch: 32, lr: 1e-3), vision: .init(steps: 1000, batch: 64, lr: 1e-3),
                                   pretrain: .init(steps: 800, batch: 32, lr: 2e-3), sft: .init(steps: 6000, batch: 32, lr: 1e-3))
        }
    }

    /// The four stages' steps in order (language model, vision, pretrain, SFT): what `--steps` takes.
    public var steps: [Int] {
        get { [text.steps, vision.steps, pretrain.steps, sft.steps] }
        set {
            guard newValue.count == 4 else { return }
            text.steps = newValue[0]; vision.steps = newValue[1]; pretrain.steps = newValue[2]; sft.steps = newValue[3]
        }
    }

    /// Every number against its range; errors name the field (`ScratchSettings.lmHeads`).
    public func validate() throws {
        let f = { (name: String) in "ScratchSettings." + name }
        try InputRange.check(f("threads"), threads, in: 1...256)
        try InputRange.check(f("vocabSize"), vocabSize, in: 300...65_536, note: "256 bytes + the special tokens + merges")
        try InputRange.check(f("grid"), grid, in: 1...32)
        try InputRange.check(f("maxImageSize"), maxImageSize, in: 8...1024)
        if let imageSize { try InputRange.check(f("imageSize"), imageSize, in: 8...1024) }
        if let patchSize { try InputRange.check(f("patchSize"), patchSize, in: 2...256) }
        if let imageSize, let patchSize, imageSize % patchSize != 0 {
            throw InputRangeError(field: f("patchSize"), value: "\(patchSize)", allowed: "a divisor of imageSize \(imageSize)")
        }
        try InputRange.check(f("lmHidden"), lmHidden, in: 8...4096)
        try InputRange.check(f("lmLayers"), lmLayers, in: 1...64)
        try InputRange.check(f("lmHeads"), lmHeads, in: 1...64)
        if lmHidden % lmHeads != 0 || (lmHidden / lmHeads) % 2 != 0 {
            throw InputRangeError(field: f("lmHeads"), value: "\(lmHeads)", allowed: "a divisor of lmHidden \(lmHidden) leaving an even head size")
        }
        try InputRange.check(f("visionHidden"), visionHidden, in: 8...4096)
        try InputRange.check(f("visionLayers"), visionLayers, in: 1...64)
        if visionHidden % visionHeads != 0 {
            throw InputRangeError(field: f("visionHidden"), value: "\(visionHidden)", allowed: "a multiple of \(visionHeads) (the tower's heads)")
        }
        if let maxPositions { try InputRange.check(f("maxPositions"), maxPositions, in: 16...ConfigLimits.maxPositions) }
        for (name, stage) in [("text", text), ("vision", vision), ("pretrain", pretrain), ("sft", sft)] {
            try InputRange.check(f(name + ".steps"), stage.steps, in: 1...10_000_000)
            try InputRange.check(f(name + ".batch"), stage.batch, in: 1...4096)
            try InputRange.check(f(name + ".lr"), stage.lr, above: 0, upTo: 1)
        }
        if let timeBudgetMinutes { try InputRange.check(f("timeBudgetMinutes"), timeBudgetMinutes, in: 0.05...100_000) }
        try InputRange.check(f("validationSamples"), validationSamples, in: 0...1_000_000)
        if let answerTokens { try InputRange.check(f("answerTokens"), answerTokens, in: 1...4096) }
        try InputRange.check(f("captionTokens"), captionTokens, in: 1...4096)
        if let checkpointEvery { try InputRange.check(f("checkpointEvery"), checkpointEvery, in: 1...10_000_000) }
    }

    /// A stage's recipe: a fixed number of optimizer steps (the cosine schedule spans them), AdamW
    /// with weight decay 0.01, grad-norm clip 1.0, the data reshuffled every pass.
    public func recipe(_ stage: ScratchStageSettings, trainable: [String], seed offset: UInt64, prefix: String) -> TrainingRecipe {
        var r = TrainingRecipe(stage: .sft, weightPrefix: prefix, trainable: trainable, learningRate: stage.lr, batchSize: stage.batch,
                               epochs: 1, maxSeqLen: 512)
        r.steps = stage.steps
        r.seed = seed &+ offset
        r.saveInterval = checkpointEvery ?? max(1, stage.steps / 4)
        return r
    }

    public func visionConfig(imageSize: Int, patchSize: Int) -> VisionConfig {
        VisionConfig(kind: .clip, hiddenSize: visionHidden, intermediateSize: 2 * visionHidden, numHiddenLayers: visionLayers,
                     numAttentionHeads: visionHeads, imageSize: imageSize, patchSize: patchSize, layerNormEps: 1e-5,
                     activation: .quickGelu)
    }

    /// Pixels as a SigLIP-style processor gives them: resized to exactly the tower's size (any input
    /// size or aspect), scale 1/255, mean = std = 0.5.
    public static func preprocessing(imageSize: Int) -> ImagePreprocessing {
        ImagePreprocessing(kind: .siglip, resize: .exact(width: imageSize, height: imageSize), resample: .bilinear,
                           crop: nil, rescaleFactor: 1.0 / 255.0, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5])
    }

    public func languageConfig(vocabSize: Int, positions: Int) -> LanguageModelConfig {
        var c = LanguageModelConfig.minimind2(hidden: lmHidden, layers: lmLayers)
        c.vocabSize = vocabSize
        c.numAttentionHeads = lmHeads
        c.headDim = lmHidden / lmHeads
        c.maxPositionEmbeddings = positions
        return c
    }
}
