import Foundation

/// A MiniMind-V model: vision encoder (frozen) → projector → language model, with the image
/// features spliced into the placeholder runs of the prompt. Each part is a protocol, so a Swift
/// program can plug in its own: any `VisionEncoder`, `Projector` and `LanguageModel`. The model's
/// parameters and state dict are the upstream release layout: the language model's own keys
/// (`model.*`, `lm_head.weight`) and the projector's under `vision_proj.*` — the vision encoder is a
/// separate module with its own keys (its own folder).
///
///     let model = try MiniMindVLM(config: config, language: try MiniMindLM(config: config.language),
///                                 projector: MyProjector(), vision: MyEncoder())
///
/// Usually loaded with its tokenizer as a `VLMBundle`; built from a preset with random weights for
/// training from scratch or benchmarks:
///
///     let model = try MiniMindVLM(config: VLMPreset.minimind2SmallV.config, seed: 0)
///     try model.loadReleaseWeights(try Weights.read(URL(fileURLWithPath: "sft_vlm_512.pth")),
///                                  allowMissingProjector: false)
///     let pixels = try model.preprocess([try RGBImage(contentsOf: URL(fileURLWithPath: "photo.png"))])
///     let features = model.visionFeatures(pixels)   // [images, tokens, width], frozen tower
public final class MiniMindVLM: Module {
    public let config: VLMConfig
    public let language: any LanguageModel
    public let projector: any Projector
    public let vision: any VisionEncoder

    public init(config: VLMConfig, language: any LanguageModel, projector: any Projector, vision: any VisionEncoder) throws {
        try config.validate()
        guard vision.outputDim == config.vision.hiddenSize, vision.outputTokens == config.imageTokens else {
            throw ModelError.incompatible("vision encoder gives \(vision.outputTokens)×\(vision.outputDim) features, the config expects \(config.imageTokens)×\(config.vision.hiddenSize)")
        }
        guard language.config == config.language else {
            throw ModelError.incompatible("the language model's configuration differs from the VLM configuration's language section")
        }
        self.config = config
        self.language = language
        self.projector = projector
        self.vision = vision
        super.init()
        register(inlined: language)
        register(child: "vision_proj", projector)
        vision.freeze()
    }

    /// A model with random weights (seeded) for a configuration: benchmarks, tests, training from scratch.
    public convenience init(config: VLMConfig, seed: UInt64 = 0) throws {
        let lm = try MiniMindLM(config: config.language, seed: seed)
        let vision = try ViTVisionEncoder(config: config.vision, seed: seed &+ 1)
        try self.init(config: config, language: lm, projector: Self.makeProjector(config, seed: seed &+ 2), vision: vision)
    }

    public static func makeProjector(_ config: VLMConfig, seed: UInt64) -> any Projector {
        switch config.projector {
        case .linear: return LinearProjector(visionDim: config.vision.hiddenSize, hidden: config.language.hiddenSize, seed: seed)
        case .mlp: return MLPProjector(visionDim: config.vision.hiddenSize, hidden: config.language.hiddenSize, seed: seed)
        }
    }

    /// Preprocessed pixels [N, 3, H, W] for the vision tower; `ModelError.noVisionEncoder` when the
    /// model has none (loaded for text only).
    public func preprocess(_ images: [RGBImage]) throws -> Tensor { try vision.preprocess(images) }

    /// Vision features of preprocessed pixels [N, 3, H, W] (no gradient: the encoder is frozen).
    public func visionFeatures(_ pixels: Tensor) -> Tensor { noGrad { vision.encode(pixels) } }

    /// Projected image embeddings [N, tokens, hidden] from vision features (differentiable in the projector).
    public func project(_ features: Tensor) -> Tensor { projector(features) }

    /// Token embeddings with image features spliced in. `images`: projected [N, tokens, hidden];
    /// `imagesPerSample[b]`: indices into it for sample b, in prompt order.
    public func embeddings(ids: [Int], batch: Int, images: Tensor? = nil, imagesPerSample: [[Int]] = []) -> Tensor {
        let h = language.embed(ids, batch: batch)
        guard let images else { return h }
        return ImageSplice.apply(embeddings: h, ids: ids, batch: batch, tokenId: config.imageTokenId,
                                 features: images, imagesPerSample: imagesPerSample)
    }

    /// Training loss: mean cross-entropy over the input positions whose target is not -100
    /// (optionally label-smoothed and weighted per target, SmoothedCrossEntropy.swift)
    /// (`targets`: one per position of `ids`). Only those positions go through the final norm, the
    /// LM head and the softmax, so loss and gradients are the full-logits computation's without
    /// the [B·T, vocab] work on prompts, images and padding.
    public func loss(ids: [Int], targets: [Int], batch: Int = 1, images: Tensor? = nil, imagesPerSample: [[Int]] = [],
                     keyPaddingMask: Tensor? = nil, labelSmoothing: Float = 0, targetWeights: [Float]? = nil) -> Tensor {
        precondition(targets.count == ids.count, "MiniMindVLM.loss: \(targets.count) targets for \(ids.count) ids")
        precondition(targetWeights.map { $0.count == ids.count } ?? true, "MiniMindVLM.loss: target weights must match the ids")
        let counted = targets.indices.filter { targets[$0] != TrainingSample.ignoreLabel }
        let logits = language.logits(embeddings: embeddings(ids: ids, batch: batch, images: images, imagesPerSample: imagesPerSample),
                                     keyPaddingMask: keyPaddingMask, rows: counted)
        return crossEntropy(logits: logits, targets: counted.map { targets[$0] }, ignoreIndex: TrainingSample.ignoreLabel,
                            labelSmoothing: labelSmoothing, weights: targetWeights.map { w in counted.map { w[$0] } })
    }

    /// Full-sequence logits [B, T, vocab] (training and checks).
    public func logits(ids: [Int], batch: Int = 1, images: Tensor? = nil, imagesPerSample: [[Int]] = [],
                       keyPaddingMask: Tensor? = nil) -> Tensor {
        language.logits(embeddings: embeddings(ids: ids, batch: batch, images: images, imagesPerSample: imagesPerSample),
                        keyPaddingMask: keyPaddingMask)
    }
}
