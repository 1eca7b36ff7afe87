import XCTest
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
