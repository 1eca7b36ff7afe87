import Foundation

/// The projector between the vision tower and the language model (Docs/Model.md, "Projector and image splicing").
public enum ProjectorKind: String, Codable, Sendable {
    /// MiniMind2-V: Linear(vision → hidden) with bias. Keys `vision_proj.vision_proj.0.*`.
    case linear
    /// minimind-3v: LayerNorm → Linear → GELU(erf) → Linear. Keys `vision_proj.mlp.{0,1,3}.*`.
    case mlp
}

/// Everything that defines a MiniMind-V model: the decoder, the vision tower, the projector and how
/// images appear in the prompt.
public struct VLMConfig: Codable, Equatable, Sendable {
    public var language: LanguageModelConfig
    public var vision: VisionConfig
    public var projector: ProjectorKind
    /// What the user writes for an image, replaced before tokenisation.
    public var imageMarker: String = "<image>"
    /// The placeholder text one image expands to (`'@'×196` or `'<|image_pad|>'×64`).
    public var imagePlaceholder: String
    /// The token id of one placeholder unit, whose runs receive the image features.
    public var imageTokenId: Int
    public var imageTokens: Int { vision.outputTokens }
    /// A quantised model folder's scheme (its attention and dense feed-forward weights are int8/int4
    /// values and scales; `QuantizedWeights`). Nil: float weights.
    public var quantization: WeightQuantization?
    /// Linear layers stored as two low-rank factors (`LowRankLinear`), by key path
    /// (`model.layers.3.mlp.up_proj`), with their rank. Nil: none.
    public var lowRank: [String: Int]?

    public init(language: LanguageModelConfig, vision: VisionConfig, projector: ProjectorKind,
                imagePlaceholder: String, imageTokenId: Int) {
        self.language = language
        self.vision = vision
        self.projector = projector
        self.imagePlaceholder = imagePlaceholder
        self.imageTokenId = imageTokenId
    }

    /// The text one image becomes: the placeholder unit repeated once per image token.
    public var expandedImageText: String { String(repeating: imagePlaceholder, count: imageTokens) }

    public func validate() throws {
        try language.validate()
        try vision.validate()
        guard imageTokenId >= 0, imageTokenId < language.vocabSize else {
            throw ModelError.tokenIdOutOfRange(name: "image", id: imageTokenId, vocabulary: language.vocabSize)
        }
    }
}

/// The named configurations of Docs/Model.md, "Generations and presets".
public enum VLMPreset: String, CaseIterable, Sendable {
    case minimind2SmallV = "minimind2-small-v"
    case minimind2V = "minimind2-v"
    case minimind2VMoE = "minimind2-v-moe"
    case minimind3V = "minimind-3v"
    case minimind3VMoE = "minimind-3v-moe"

    public static func named(_ name: String) throws -> VLMPreset {
        guard let p = VLMPreset(rawValue: name) else {
            throw ModelError.unknownPreset(name, available: allCases.map(\.rawValue))
        }
        return p
    }

    public var config: VLMConfig {
        switch self {
        case .minimind2SmallV: return Self.minimind2V(.minimind2(hidden: 512, layers: 8))
        case .minimind2V: return Self.minimind2V(.minimind2(hidden: 768, layers: 16))
        case .minimind2VMoE: return Self.minimind2V(.minimind2(hidden: 640, layers: 8, moe: true))
        case .minimind3V: return Self.minimind3V(.minimind3(hidden: 768, layers: 8))
        case .minimind3VMoE: return Self.minimind3V(.minimind3(hidden: 768, layers: 8, moe: true))
        }
    }

    static func minimind2V(_ lm: LanguageModelConfig) -> VLMConfig {
        VLMConfig(language: lm, vision: .clipB16, projector: .linear, imagePlaceholder: "@", imageTokenId: 34)
    }

    static func minimind3V(_ lm: LanguageModelConfig) -> VLMConfig {
        VLMConfig(language: lm, vision: .siglipB32, projector: .mlp, imagePlaceholder: "<|image_pad|>", imageTokenId: 12)
    }
}
