import XCTest
@testable import MiniMindV

final class ConfigInferenceTests: XCTestCase {
    /// Every preset's decoder + projector shapes are recognised as that preset (the shapes come from
    /// the modules themselves, as in an upstream release file).
    func testEveryPresetIsRecognisedFromItsShapes() throws {
        for preset in VLMPreset.allCases {
            let config = preset.config
            let lm = try MiniMindLM(config: config.language)
            var shapes = Dictionary(uniqueKeysWithValues: lm.stateDict().map { ($0.0, $0.1.shape) })
            for (k, t) in MiniMindVLM.makeProjector(config, seed: 0).stateDict() { shapes["vision_proj." + k] = t.shape }
            XCTAssertEqual(ConfigInference.matchingPreset(for: shapes), preset, preset.rawValue)
            XCTAssertEqual(try ConfigInference.language(from: shapes), config.language, preset.rawValue)
        }
    }

    func testPresetNumbersFollowSpec() {
        XCTAssertEqual(VLMPreset.minimind2SmallV.config.language.intermediateSize, 1408)
        XCTAssertEqual(VLMPreset.minimind2V.config.language.intermediateSize, 2048)
        XCTAssertEqual(VLMPreset.minimind3V.config.language.intermediateSize, 2432)
        XCTAssertEqual(VLMPreset.minimind3V.config.language.headDim, 96)
        XCTAssertEqual(VLMPreset.minimind2SmallV.config.imageTokens, 196)
        XCTAssertEqual(VLMPreset.minimind3V.config.imageTokens, 64)
        XCTAssertEqual(VLMPreset.minimind2VMoE.config.language.moe?.expertsPerToken, 2)
        XCTAssertEqual(VLMPreset.minimind3VMoE.config.language.moe?.sharedExperts, 0)
    }

    func testMissingEmbeddingIsAClearError() {
        XCTAssertThrowsError(try ConfigInference.language(from: ["model.layers.0.self_attn.q_proj.weight": [64, 64]])) { error in
            XCTAssertTrue("\(error)".contains("embed_tokens"), "\(error)")
        }
        XCTAssertThrowsError(try VLMPreset.named("minimind-9000")) { error in
            XCTAssertTrue("\(error)".contains("minimind2-small-v"), "\(error)")
        }
    }

    func testConfigJSONRoundTripsWithUpstreamNames() throws {
        let config = VLMPreset.minimind3VMoE.config.language
        let data = try JSONEncoder().encode(config)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(json["hidden_size"] as? Int, 768)
        XCTAssertEqual(json["use_moe"] as? Bool, true)
        XCTAssertEqual(try JSONDecoder().decode(LanguageModelConfig.self, from: data), config)
    }

    /// Pre-2025 MiniMind2 names with interleaved q/k rows load into the same model as the modern file.
    func testLegacyNamesAndInterleavedRowsMapToTheModernModel() throws {
        let config = try ModelFixtures.llamaConfig()
        let modern = try Weights.tensors(try ModelFixtures.weights("llama.safetensors"))
        var legacy: [String: Tensor] = [:]
        for (key, t) in modern {
            var k = key.replacingOccurrences(of: "model.embed_tokens.", with: "tok_embeddings.")
                .replacingOccurrences(of: "model.norm.", with: "norm.").replacingOccurrences(of: "lm_head.", with: "output.")
                .replacingOccurrences(of: "model.layers.", with: "layers.")
            for (new, old) in [(".self_attn.q_proj.", ".attention.wq."), (".self_attn.k_proj.", ".attention.wk."),
                               (".self_attn.v_proj.", ".attention.wv."), (".self_attn.o_proj.", ".attention.wo."),
                               (".mlp.gate_proj.", ".feed_forward.w1."), (".mlp.down_proj.", ".feed_forward.w2."),
                               (".mlp.up_proj.", ".feed_forward.w3."), (".input_layernorm.", ".attention_norm."),
                               (".post_attention_layernorm.", ".ffn_norm.")] {
                k = k.replacingOccurrences(of: new, with: old)
            }
            let heads = key.contains("q_proj") ? config.numAttentionHeads : config.numKeyValueHeads
            legacy[k] = key.contains("q_proj") || key.contains("k_proj") ? halfSplitToInterleaved(t, heads: heads) : t
        }
        let mapped = Weights.mapLegacyNames(legacy, heads: config.numAttentionHeads, kvHeads: config.numKeyValueHeads)
        XCTAssertEqual(Set(mapped.keys), Set(modern.keys))
        for (k, t) in modern { XCTAssertEqual(mapped[k]?.toArray(), t.toArray(), k) }
    }

    private func halfSplitToInterleaved(_ w: Tensor, heads: Int) -> Tensor {
        let rows = w.shape[0], cols = w.shape[1], d = rows / heads
        var out = [Float](repeating: 0, count: w.count)
        let src = w.toArray()
        for h in 0..<heads {
            for j in 0..<(d / 2) {
                for c in 0..<cols {
                    out[(h * d + 2 * j) * cols + c] = src[(h * d + j) * cols + c]
                    out[(h * d + 2 * j + 1) * cols + c] = src[(h * d + j + d / 2) * cols + c]
                }
            }
        }
        return Tensor(shape: w.shape, data: out)
    }
}
