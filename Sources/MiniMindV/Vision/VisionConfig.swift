import Foundation

/// A ViT vision tower as used by MiniMind-V: CLIP (class token, pre-LayerNorm, quick-GELU, features
/// before post-LayerNorm) or SigLIP (no class token, patch bias, GELU-tanh, features after it).
public struct VisionConfig: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable { case clip, siglip }
    public enum Activation: String, Codable, Sendable {
        case quickGelu = "quick_gelu", geluTanh = "gelu_pytorch_tanh", gelu
    }

    public var kind: Kind
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var imageSize: Int
    public var patchSize: Int
    public var layerNormEps: Float
    public var activation: Activation

    public var gridSize: Int { imageSize / patchSize }
    /// Feature tokens handed to the projector (the class token is dropped).
    public var outputTokens: Int { gridSize * gridSize }

    /// openai/clip-vit-base-patch16: 196 tokens of 768.
    public static let clipB16 = VisionConfig(kind: .clip, hiddenSize: 768, intermediateSize: 3072, numHiddenLayers: 12,
                                             numAttentionHeads: 12, imageSize: 224, patchSize: 16, layerNormEps: 1e-5,
                                             activation: .quickGelu)
    /// siglip2-base-p32-256-ve: 64 tokens of 768.
    public static let siglipB32 = VisionConfig(kind: .siglip, hiddenSize: 768, intermediateSize: 3072, numHiddenLayers: 12,
                                               numAttentionHeads: 12, imageSize: 256, patchSize: 32, layerNormEps: 1e-6,
                                               activation: .geluTanh)

    public init(kind: Kind, hiddenSize: Int, intermediateSize: Int, numHiddenLayers: Int, numAttentionHeads: Int,
                imageSize: Int, patchSize: Int, layerNormEps: Float, activation: Activation) {
        self.kind = kind
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.imageSize = imageSize
        self.patchSize = patchSize
        self.layerNormEps = layerNormEps
        self.activation = activation
    }

    public func validate() throws {
        try checkRanges()
        guard hiddenSize > 0, intermediateSize > 0, numHiddenLayers > 0, numAttentionHeads > 0,
              hiddenSize % numAttentionHeads == 0 else {
            throw ModelError.invalidConfig("vision tower: hidden_size \(hiddenSize) must be a positive multiple of num_attention_heads \(numAttentionHeads)")
        }
        guard patchSize > 0, imageSize >= patchSize, imageSize % patchSize == 0 else {
            throw ModelError.invalidConfig("vision tower: image_size \(imageSize) must be a multiple of patch_size \(patchSize)")
        }
    }

    enum HFKeys: String, CodingKey {
        case hiddenSize = "hidden_size", intermediateSize = "intermediate_size", numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads", imageSize = "image_size", patchSize = "patch_size"
        case layerNormEps = "layer_norm_eps", hiddenAct = "hidden_act", modelType = "model_type", visionConfig = "vision_config"
        case kind = "minimind_kind"
    }

    /// Reads a transformers config.json: a full CLIPModel (`vision_config` nested) or a vision-only
    /// CLIP/SigLIP config. The kind comes from `model_type`.
    public init(from decoder: Decoder) throws {
        let top = try decoder.container(keyedBy: HFKeys.self)
        let topType = try top.decodeIfPresent(String.self, forKey: .modelType) ?? ""
        let c = top.contains(.visionConfig) ? try top.nestedContainer(keyedBy: HFKeys.self, forKey: .visionConfig) : top
        let type = try c.decodeIfPresent(String.self, forKey: .modelType) ?? topType
        if let k = try top.decodeIfPresent(Kind.self, forKey: .kind) {
            kind = k
        } else if type.contains("siglip") {
            kind = .siglip
        } else if type.contains("clip") {
            kind = .clip
        } else {
            throw ModelError.ambiguousConfig("vision config.json has model_type '\(type)', expected a CLIP or SigLIP vision model")
        }
        let base = kind == .clip ? VisionConfig.clipB16 : VisionConfig.siglipB32
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? base.hiddenSize
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? base.intermediateSize
        numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers) ?? base.numHiddenLayers
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? base.numAttentionHeads
        imageSize = try c.decodeIfPresent(Int.self, forKey: .imageSize) ?? base.imageSize
        patchSize = try c.decodeIfPresent(Int.self, forKey: .patchSize) ?? base.patchSize
        layerNormEps = try c.decodeIfPresent(Float.self, forKey: .layerNormEps) ?? base.layerNormEps
        let act = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? base.activation.rawValue
        guard let a = Activation(rawValue: act == "gelu_new" || act == "gelu_fast" ? "gelu_pytorch_tanh" : act) else {
            throw ModelError.invalidConfig("vision hidden_act '\(act)' is not supported (quick_gelu, gelu_pytorch_tanh, gelu)")
        }
        activation = a
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: HFKeys.self)
        try c.encode(kind == .clip ? "clip_vision_model" : "siglip_vision_model", forKey: .modelType)
        try c.encode(kind, forKey: .kind)
        try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(intermediateSize, forKey: .intermediateSize)
        try c.encode(numHiddenLayers, forKey: .numHiddenLayers)
        try c.encode(numAttentionHeads, forKey: .numAttentionHeads)
        try c.encode(imageSize, forKey: .imageSize)
        try c.encode(patchSize, forKey: .patchSize)
        try c.encode(layerNormEps, forKey: .layerNormEps)
        try c.encode(activation.rawValue, forKey: .hiddenAct)
    }
}
