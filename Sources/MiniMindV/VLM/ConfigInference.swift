import Foundation

/// Recovers a configuration from a state dict's keys and shapes: the upstream `.pth` files carry
/// no config. Counts come from shapes; what shapes cannot tell (head count without QK-norm) uses
/// the generation's constant (8 heads in both) and is stated in the result.
public enum ConfigInference {
    public static func language(from shapes: [String: [Int]]) throws -> LanguageModelConfig {
        let legacy = shapes["tok_embeddings.weight"] != nil
        func key(_ modern: String, _ old: String) -> [Int]? { shapes[legacy ? old : modern] }
        guard let embed = key("model.embed_tokens.weight", "tok_embeddings.weight"), embed.count == 2 else {
            throw ModelError.ambiguousConfig("no token embedding (model.embed_tokens.weight) in the weights")
        }
        let (vocab, hidden) = (embed[0], embed[1])
        let layerPrefix = legacy ? "layers." : "model.layers."
        let layerIndices = Set(shapes.keys.compactMap { k -> Int? in
            guard k.hasPrefix(layerPrefix) else { return nil }
            return Int(k.dropFirst(layerPrefix.count).prefix { $0 != "." })
        })
        guard let maxLayer = layerIndices.max(), layerIndices.count == maxLayer + 1 else {
            throw ModelError.ambiguousConfig("decoder layers are missing or not numbered 0…N-1 (found \(layerIndices.sorted()))")
        }
        let p = layerPrefix + "0."
        guard let q = key(p + "self_attn.q_proj.weight", p + "attention.wq.weight"),
              let k = key(p + "self_attn.k_proj.weight", p + "attention.wk.weight") else {
            throw ModelError.ambiguousConfig("layer 0 has no q/k projections")
        }
        let qkNorm = shapes[p + "self_attn.q_norm.weight"] != nil
        // Both generations use 8 query heads; with QK-norm the head dim is read off directly.
        let headDim = shapes[p + "self_attn.q_norm.weight"]?.first ?? q[0] / 8
        guard headDim > 0, q[0] % headDim == 0, k[0] % headDim == 0 else {
            throw ModelError.ambiguousConfig("q_proj \(q) and k_proj \(k) do not split into heads of \(headDim)")
        }
        let moeGate = shapes[p + "mlp.gate.weight"]
        let ffn = shapes[p + "mlp.gate_proj.weight"] ?? shapes[p + "feed_forward.w1.weight"]
            ?? shapes[p + "mlp.experts.0.gate_proj.weight"]
        guard let inter = ffn?.first else { throw ModelError.ambiguousConfig("layer 0 has no feed-forward weights") }
        var config = LanguageModelConfig(vocabSize: vocab, hiddenSize: hidden, numHiddenLayers: maxLayer + 1,
                                         numAttentionHeads: q[0] / headDim, numKeyValueHeads: k[0] / headDim,
                                         headDim: headDim, intermediateSize: inter, rmsNormEps: qkNorm ? 1e-6 : 1e-5,
                                         qkNorm: qkNorm)
        if let moeGate {
            let shared = Set(shapes.keys.compactMap { key -> Int? in
                guard key.hasPrefix(p + "mlp.shared_experts.") else { return nil }
                return Int(key.dropFirst((p + "mlp.shared_experts.").count).prefix { $0 != "." })
            }).count
            config.moe = MoEConfig(flavour: shared > 0 || !qkNorm ? .minimind2 : .minimind3, numExperts: moeGate[0],
                                   sharedExperts: shared, expertIntermediateSize: inter)
        }
        try config.validate()
        return config
    }

    public static func projector(from shapes: [String: [Int]]) -> (kind: ProjectorKind, visionDim: Int)? {
        if let w = shapes["vision_proj.vision_proj.0.weight"], w.count == 2 { return (.linear, w[1]) }
        if let w = shapes["vision_proj.mlp.1.weight"], w.count == 2 { return (.mlp, w[1]) }
        return nil
    }

    /// The full VLM configuration: the preset with the same language model and projector when one
    /// matches, else the generation's vision tower with the inferred decoder.
    public static func vlm(from shapes: [String: [Int]]) throws -> VLMConfig {
        let lm = try language(from: shapes)
        if let preset = matchingPreset(for: shapes) { return preset.config }
        let projector = ConfigInference.projector(from: shapes)?.kind ?? (lm.qkNorm ? .mlp : .linear)
        var config = projector == .linear ? VLMPreset.minimind2V(lm) : VLMPreset.minimind3V(lm)
        config.projector = projector
        return config
    }

    /// The preset whose decoder (and projector, when present) these shapes describe.
    public static func matchingPreset(for shapes: [String: [Int]]) -> VLMPreset? {
        guard let lm = try? language(from: shapes) else { return nil }
        let projector = ConfigInference.projector(from: shapes)
        return VLMPreset.allCases.first { preset in
            let c = preset.config
            return c.language == lm && (projector.map { $0.kind == c.projector && $0.visionDim == c.vision.hiddenSize } ?? true)
        }
    }
}
