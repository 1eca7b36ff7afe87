import Foundation

/// Pixels [N, 3, H, W] → features [N, tokens, dim], with the preprocessing its pixels need: the seam
/// a Swift program plugs its own vision encoder into `MiniMindVLM`, the trainer's feature cache and
/// `Generator`. It is a `Module` (MiniMind-V keeps it frozen: the VLM freezes it, and the feature
/// cache's identity hashes its state dict). `ViTVisionEncoder` (CLIP, SigLIP) implements it.
public protocol VisionEncoder: Module {
    var outputTokens: Int { get }
    var outputDim: Int { get }
    var preprocessing: ImagePreprocessing { get }
    func encode(_ pixels: Tensor) -> Tensor
    /// Pixels [N, 3, H, W] for `images`; throws when the encoder takes no images
    /// (`MissingVisionEncoder`). Default: `preprocessing(images)`.
    func preprocess(_ images: [RGBImage]) throws -> Tensor
    /// The ViT configuration a model folder records for this encoder (`VLMConfig.vision`); nil when
    /// the encoder is not a CLIP/SigLIP tower (the VLM's configuration then describes its output size).
    var visionConfig: VisionConfig? { get }
    /// Writes the encoder as a model folder's `vision/` that `VLMBundle.load(folder:)` reads back.
    /// Default: `ModelError.unsupported` (only the built-in ViT has a folder format).
    func save(folder: URL) throws
    /// False for a stand-in that has no tower (`MissingVisionEncoder`): callers refuse images,
    /// including preprocessed pixels, with `ModelError.noVisionEncoder`. Default: true.
    var takesImages: Bool { get }
    /// What the encoder's output depends on besides the pixels — its configuration and weights — as
    /// a short string: `VisionFeatureCache` keys on it (with the preprocessing), so two checkpoints
    /// never share cached features. Default: a hash of `visionConfig`, the output size and every
    /// state-dict tensor (name, shape, values). An encoder with settings outside its state dict and
    /// `visionConfig` adds them by implementing this.
    var fingerprint: String { get }
}

extension VisionEncoder {
    public func preprocess(_ images: [RGBImage]) throws -> Tensor { try preprocessing(images) }

    public var visionConfig: VisionConfig? { nil }

    public var takesImages: Bool { true }

    public var fingerprint: String {
        var parts = ["output \(outputTokens)x\(outputDim)", "config \(visionConfig.map { String(describing: $0) } ?? "none")"]
        for (name, t) in stateDict() { parts.append("\(name) \(t.shape) " + FeatureCacheKey.hex(t)) }
        return FeatureCacheKey.hex(parts.joined(separator: "\n"))
    }

    public func save(folder: URL) throws {
        throw ModelError.unsupported("a \(type(of: self)) vision encoder has no folder format; only the built-in CLIP/SigLIP encoder can be saved into a model folder")
    }
}
