import Foundation

/// The patch/position embeddings of a ViT. Keys under `embeddings.`: `patch_embedding.weight`
/// (+ `.bias` for SigLIP), `position_embedding.weight`, and `class_embedding` for CLIP.
final class ViTEmbeddings: Module {
    let config: VisionConfig
    let patchWeight: Tensor, patchBias: Tensor?
    let classEmbedding: Tensor?
    let positionEmbedding: Embedding

    init(config: VisionConfig, generator: inout SeededGenerator) {
        self.config = config
        let h = config.hiddenSize, p = config.patchSize
        patchWeight = Tensor.randn([h, 3, p, p], std: 0.02, generator: &generator)
        patchBias = config.kind == .siglip ? Tensor.zeros([h]) : nil
        classEmbedding = config.kind == .clip ? Tensor.randn([h], std: 0.02, generator: &generator) : nil
        let positions = config.outputTokens + (config.kind == .clip ? 1 : 0)
        positionEmbedding = Embedding(weight: Tensor.randn([positions, h], std: 0.02, generator: &generator))
        super.init()
        let patch = Module()
        patch.register(parameter: "weight", patchWeight)
        if let patchBias { patch.register(parameter: "bias", patchBias) }
        if let classEmbedding { register(parameter: "class_embedding", classEmbedding) }
        register(child: "patch_embedding", patch)
        register(child: "position_embedding", positionEmbedding)
    }

    func callAsFunction(_ pixels: Tensor) -> Tensor {
        var x = patchEmbed(pixels: pixels, weight: patchWeight, bias: patchBias, patch: config.patchSize)
        let n = x.shape[0], h = config.hiddenSize
        if let classEmbedding {
            let cls = classEmbedding.reshaped([1, 1, h]) + Tensor.zeros([n, 1, h])
            x = Tensor.concat([cls, x], axis: 1)
        }
        return x + positionEmbedding.weight.reshaped([1, x.shape[1], h])
    }
}

/// A CLIP or SigLIP vision transformer loaded from Hugging Face keys (`vision_model.*`).
/// CLIP: class token, `pre_layrnorm`, output before `post_layernorm`, class token dropped (196×768).
/// SigLIP: no class token, output after `post_layernorm` (64×768).
public final class ViTVisionEncoder: Module, VisionEncoder {
    public let config: VisionConfig
    public let preprocessing: ImagePreprocessing
    let embeddings: ViTEmbeddings
    let preLayerNorm: LayerNorm?
    let layers: ModuleList<ViTLayer>
    let postLayerNorm: LayerNorm

    public init(config: VisionConfig, preprocessing: ImagePreprocessing? = nil, seed: UInt64 = 0) throws {
        try config.validate()
        self.config = config
        self.preprocessing = preprocessing ?? (config.kind == .clip ? .clip224 : .siglip256)
        var g = SeededGenerator(seed: seed)
        embeddings = ViTEmbeddings(config: config, generator: &g)
        preLayerNorm = config.kind == .clip ? LayerNorm(config.hiddenSize, eps: config.layerNormEps) : nil
        var list: [ViTLayer] = []
        for _ in 0..<config.numHiddenLayers { list.append(ViTLayer(config: config, generator: &g)) }
        layers = ModuleList(list)
        postLayerNorm = LayerNorm(config.hiddenSize, eps: config.layerNormEps)
        super.init()
        let visionModel = Module()
        visionModel.register(child: "embeddings", embeddings)
        if let preLayerNorm { visionModel.register(child: "pre_layrnorm", preLayerNorm) }
        let encoder = Module()
        encoder.register(child: "layers", layers)
        visionModel.register(child: "encoder", encoder)
        visionModel.register(child: "post_layernorm", postLayerNorm)
        register(child: "vision_model", visionModel)
        eval()
    }

    public var outputTokens: Int { config.outputTokens }
    public var outputDim: Int { config.hiddenSize }
    public var visionConfig: VisionConfig? { config }

    public func encode(_ pixels: Tensor) -> Tensor {
        precondition(pixels.rank == 4 && pixels.shape[1] == 3 && pixels.shape[2] == config.imageSize && pixels.shape[3] == config.imageSize,
                     "vision encoder: pixels \(pixels.shape) must be [N, 3, \(config.imageSize), \(config.imageSize)]")
        var x = embeddings(pixels)
        if let preLayerNorm { x = preLayerNorm(x) }
        for layer in layers { x = layer(x) }
        switch config.kind {
        case .clip: return x.slice(axis: 1, 1..<x.shape[1])
        case .siglip: return postLayerNorm(x)
        }
    }

    /// Keys of a Hugging Face vision folder that this encoder does not use (text tower, pooling
    /// head, logit scale, position ids buffer).
    public static func isIgnorableKey(_ key: String) -> Bool {
        !key.hasPrefix("vision_model.") || key.hasPrefix("vision_model.head.") || key.hasSuffix("position_ids")
    }
}
