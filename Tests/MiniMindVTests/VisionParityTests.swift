import XCTest
@testable import MiniMindTensor
@testable import MiniMindV

/// CLIP (full CLIPModel keys; features before post-LayerNorm, class token dropped) and SigLIP
/// (after post-LayerNorm) against transformers on tiny configurations.
final class VisionParityTests: XCTestCase {
    func encoder(_ prefix: String) throws -> ViTVisionEncoder {
        let config = try JSONDecoder().decode(VisionConfig.self, from: Data(contentsOf: ModelFixtures.url("\(prefix)_config.json")))
        let enc = try ViTVisionEncoder(config: config)
        try enc.loadWeights(try ModelFixtures.weights("\(prefix).safetensors"))
        return enc
    }

    func testCLIPVisionFeatures() throws {
        let enc = try encoder("clip")
        XCTAssertEqual(enc.config.kind, .clip)
        let out = enc.encode(try ModelFixtures.tensor("clip_pixels.npy"))
        let expected = try ModelFixtures.tensor("clip_features.npy")
        XCTAssertEqual(out.shape, expected.shape)
        XCTAssertLessThanOrEqual(ModelFixtures.maxAbsDiff(out, expected), 1e-4)
    }

    func testSigLIPVisionFeatures() throws {
        let enc = try encoder("siglip")
        XCTAssertEqual(enc.config.kind, .siglip)
        let out = enc.encode(try ModelFixtures.tensor("siglip_pixels.npy"))
        let expected = try ModelFixtures.tensor("siglip_features.npy")
        XCTAssertEqual(out.shape, expected.shape)
        XCTAssertLessThanOrEqual(ModelFixtures.maxAbsDiff(out, expected), 1e-4)
    }

    /// Encoding under noGrad (as `visionFeatures` and the CLI run it) takes `EncoderInference`'s
    /// path: heads read in place, fc1's output activated in place. Same fixtures, same tolerance.
    func testFrozenEncodingPathMatchesTransformers() throws {
        for prefix in ["clip", "siglip"] {
            let enc = try encoder(prefix)
            let pixels = try ModelFixtures.tensor("\(prefix)_pixels.npy")
            let expected = try ModelFixtures.tensor("\(prefix)_features.npy")
            let layer = enc.layers[0]
            var g = SeededGenerator(seed: 3)
            let x = Tensor.randn([1, 5, enc.config.hiddenSize], generator: &g)
            noGrad {
                XCTAssertNotNil(EncoderInference.selfAttention(x, heads: layer.selfAttn.heads, q: layer.selfAttn.qProj,
                                                               k: layer.selfAttn.kProj, v: layer.selfAttn.vProj), prefix)
                XCTAssertNotNil(EncoderInference.mlp(x, fc1: layer.mlp.fc1, fc2: layer.mlp.fc2,
                                                     activation: prefix == "clip" ? .quickGelu : .geluTanh), prefix)
            }
            let out = noGrad { enc.encode(pixels) }
            XCTAssertEqual(out.shape, expected.shape)
            XCTAssertLessThanOrEqual(ModelFixtures.maxAbsDiff(out, expected), 1e-4, prefix)
            // And against the general (recording) path of the same weights: summation order only.
            XCTAssertLessThanOrEqual(ModelFixtures.maxAbsDiff(out, enc.encode(pixels)), 1e-5, prefix)
        }
    }

    func testMissingAndMisshapedVisionKeysAreReportedTogether() throws {
        let config = try JSONDecoder().decode(VisionConfig.self, from: Data(contentsOf: ModelFixtures.url("siglip_config.json")))
        var state = try ModelFixtures.weights("siglip.safetensors")
        // This file has transformers 5's unprefixed keys; the loader adds `vision_model.`.
        state["post_layernorm.weight"] = nil
        state["encoder.layers.0.mlp.fc1.bias"] = try TensorData(tensor: Tensor.zeros([3]))
        let enc = try ViTVisionEncoder(config: config)
        XCTAssertThrowsError(try enc.loadWeights(state)) { error in
            let e = error as? StateDictError
            XCTAssertEqual(e?.missing, ["vision_model.post_layernorm.weight"])
            XCTAssertEqual(e?.mismatched.map(\.key), ["vision_model.encoder.layers.0.mlp.fc1.bias"])
        }
    }
}
