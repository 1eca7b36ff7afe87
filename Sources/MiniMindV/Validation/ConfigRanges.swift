// Range checks of model configurations read from files (config.json, vision/config.json), run by
// `validate()` before any weight is allocated. Limits: `ConfigLimits`.
import Foundation

extension LanguageModelConfig {
    func checkRanges() throws {
        let f = "config.json "
        try InputRange.check(f + "vocab_size", vocabSize, in: 1...ConfigLimits.maxVocabSize)
        try InputRange.check(f + "hidden_size", hiddenSize, in: 1...ConfigLimits.maxHiddenSize)
        try InputRange.check(f + "num_hidden_layers", numHiddenLayers, in: 1...ConfigLimits.maxLayers)
        try InputRange.check(f + "num_attention_heads", numAttentionHeads, in: 1...ConfigLimits.maxHeads)
        try InputRange.check(f + "num_key_value_heads", numKeyValueHeads, in: 1...ConfigLimits.maxHeads)
        try InputRange.check(f + "head_dim", headDim, in: 1...ConfigLimits.maxHiddenSize)
        try InputRange.check(f + "intermediate_size", intermediateSize, in: 1...ConfigLimits.maxIntermediateSize)
        try InputRange.check(f + "max_position_embeddings", maxPositionEmbeddings, in: 1...ConfigLimits.maxPositions)
        try InputRange.check(f + "rope_theta", ropeTheta, above: 1, upTo: 1e12, note: "RoPE divides by powers of it")
        try InputRange.check(f + "rms_norm_eps", Double(rmsNormEps), above: 0, upTo: 1)
        try InputRange.check(f + "dropout", Double(dropout), in: 0...1)
        var perLayer = try InputRange.product(f + "attention size", [numAttentionHeads + 2 * numKeyValueHeads, headDim, hiddenSize],
                                              limit: ConfigLimits.maxParameters)
        var ffn = [3, hiddenSize, intermediateSize]
        if let moe {
            try InputRange.check(f + "num_experts", moe.numExperts, in: 1...ConfigLimits.maxExperts)
            try InputRange.check(f + "n_shared_experts", moe.sharedExperts, in: 0...ConfigLimits.maxExperts)
            try InputRange.check(f + "moe_intermediate_size", moe.expertIntermediateSize, in: 1...ConfigLimits.maxIntermediateSize)
            ffn = [3 * (moe.numExperts + max(moe.sharedExperts, 0)), hiddenSize, moe.expertIntermediateSize]
        }
        perLayer += try InputRange.product(f + "feed-forward size", ffn, limit: ConfigLimits.maxParameters)
        let layers = try InputRange.product(f + "parameters of all layers", [perLayer, numHiddenLayers], limit: ConfigLimits.maxParameters)
        let embedding = try InputRange.product(f + "vocab_size × hidden_size", [vocabSize, hiddenSize], limit: ConfigLimits.maxParameters)
        guard layers + embedding <= ConfigLimits.maxParameters else {
            throw InputRangeError(field: f + "parameter count", value: "\(layers + embedding)", allowed: "≤ \(ConfigLimits.maxParameters)")
        }
    }
}

extension VisionConfig {
    func checkRanges() throws {
        let f = "vision config.json "
        try InputRange.check(f + "hidden_size", hiddenSize, in: 1...ConfigLimits.maxHiddenSize)
        try InputRange.check(f + "intermediate_size", intermediateSize, in: 1...ConfigLimits.maxIntermediateSize)
        try InputRange.check(f + "num_hidden_layers", numHiddenLayers, in: 1...ConfigLimits.maxLayers)
        try InputRange.check(f + "num_attention_heads", numAttentionHeads, in: 1...ConfigLimits.maxHeads)
        try InputRange.check(f + "image_size", imageSize, in: 1...ConfigLimits.maxImageSize)
        try InputRange.check(f + "patch_size", patchSize, in: 1...imageSize)
        try InputRange.check(f + "layer_norm_eps", Double(layerNormEps), above: 0, upTo: 1)
        let tokens = (imageSize / patchSize) * (imageSize / patchSize)
        try InputRange.check(f + "image_size / patch_size", tokens, in: 1...16_384, note: "feature tokens per image = (image_size / patch_size)²")
        let perLayer = try InputRange.product(f + "layer size", [4 * hiddenSize + 2 * intermediateSize, hiddenSize], limit: ConfigLimits.maxParameters)
        _ = try InputRange.product(f + "parameters of all layers", [perLayer, numHiddenLayers], limit: ConfigLimits.maxParameters)
    }
}

extension ImagePreprocessing {
    /// The output size when it does not depend on the input (a centre crop or an exact resize).
    var fixedOutputSize: ImageSize? {
        if let crop { return crop }
        if case .exact(let w, let h) = resize { return ImageSize(width: w, height: h) }
        return nil
    }
}
