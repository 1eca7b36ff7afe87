// Sizes and step counts of the demo: `full` aims at ≥ 90% on unseen images within minutes on two
// cores; `quick` is the same pipeline cut down to run in the test suite.
import Foundation
import MiniMindV

public struct DemoSettings: Sendable {
    public var seed: UInt64
    /// BLAS and kernel threads while the demo runs (restored after). Two: since the compute pool
    /// (`WorkerPool`) hands work to a polling worker in about a microsecond, even the demo's 64-wide
    /// GEMMs gain from a second core (the full run of stop 10: 4 min 12 s → 2 min 17 s, Docs/Demo.md); a fixed
    /// count rather than the machine's core count makes the results the same on every machine.
    public var threads = 2
    public var imageSize = 48
    public var patchSize = 16
    public var sizes: DemoDataSizes
    public var vocabSize = 400  // a cap: the BPE runs out of pairs seen twice at ~390, when every answer word is one token
    public var lmHidden = 64
    public var lmLayers = 2
    public var lmHeads = 4  // head_dim 16; 8 heads, 4 KV heads or 3-4 layers learned no faster (Docs/Demo.md)
    public var visionHidden = 64
    public var visionLayers = 2
    public var textSteps: Int
    public var textBatch = 32
    public var textLR = 3e-3
    public var visionSteps: Int
    public var visionBatch = 64
    public var visionLR = 2e-3
    public var pretrainSteps: Int
    public var pretrainBatch = 32
    public var pretrainLR = 4e-3
    public var sftSteps: Int
    public var sftBatch = 32
    public var sftLR = 3e-3
    /// Every this many training images also get the caption question as a single-turn SFT sample
    /// (besides the caption as the last turn of their conversation); 0: none.
    public var captionEvery = 4

    /// SFT 4000 steps: at 3000 the default seed already has every type ≥ 90 %, but seed 7's yes/no
    /// answers stopped at 80 % (92.7 % at 4000); about 3¾ minutes on two cores (Docs/Demo.md).
    public static func full(seed: UInt64 = 42) -> DemoSettings {
        DemoSettings(seed: seed, sizes: DemoDataSizes(train: 4000, validation: 100, test: 300),
                     textSteps: 200, visionSteps: 400, pretrainSteps: 200, sftSteps: 4000)
    }

    public static func quick(seed: UInt64 = 42) -> DemoSettings {
        DemoSettings(seed: seed, sizes: DemoDataSizes(train: 1000, validation: 50, test: 100),
                     textSteps: 60, visionSteps: 200, pretrainSteps: 60, sftSteps: 400)
    }

    /// A demo stage's recipe: a fixed number of optimizer steps (the cosine schedule spans them),
    /// AdamW with weight decay 0.01, grad-norm clip 1.0, the data reshuffled every pass.
    public func recipe(steps: Int, batch: Int, lr: Double, trainable: [String], seed offset: UInt64) -> TrainingRecipe {
        var r = TrainingRecipe(stage: .sft, weightPrefix: "demo", trainable: trainable, learningRate: lr, batchSize: batch,
                               epochs: 1, maxSeqLen: 512)
        r.steps = steps
        r.seed = seed &+ offset
        return r
    }

    public var visionConfig: VisionConfig {
        VisionConfig(kind: .clip, hiddenSize: visionHidden, intermediateSize: 2 * visionHidden, numHiddenLayers: visionLayers,
                     numAttentionHeads: 4, imageSize: imageSize, patchSize: patchSize, layerNormEps: 1e-5,
                     activation: .quickGelu)
    }

    /// Pixels as a SigLIP-style processor would give them: exact size, scale 1/255, mean = std = 0.5.
    public var preprocessing: ImagePreprocessing {
        ImagePreprocessing(kind: .siglip, resize: .exact(width: imageSize, height: imageSize), resample: .bilinear,
                           crop: nil, rescaleFactor: 1.0 / 255.0, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5])
    }

    public func languageConfig(vocabSize: Int) -> LanguageModelConfig {
        var c = LanguageModelConfig.minimind2(hidden: lmHidden, layers: lmLayers)
        c.vocabSize = vocabSize
        c.numAttentionHeads = lmHeads
        c.headDim = lmHidden / lmHeads
        c.maxPositionEmbeddings = 512
        return c
    }
}
