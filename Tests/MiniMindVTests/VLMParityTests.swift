import XCTest
@testable import MiniMindV

/// The whole VLM — pixels → vision tower → projector → splice into placeholder runs → LM — against
/// the script's PyTorch composition of the transformers modules (Docs/Model.md, "Projector and image splicing" splice).
final class VLMParityTests: XCTestCase {
    func model(vision prefix: String, lmPrefix: String, lm: LanguageModelConfig, projector: ProjectorKind,
               tokenId: Int, projectorFile: String) throws -> MiniMindVLM {
        let visionConfig = try JSONDecoder().decode(VisionConfig.self, from: Data(contentsOf: ModelFixtures.url("\(prefix)_config.json")))
        let config = VLMConfig(language: lm, vision: visionConfig, projector: projector,
                               imagePlaceholder: tokenId == 34 ? "@" : "<|image_pad|>", imageTokenId: tokenId)
        let vlm = try MiniMindVLM(config: config)
        if let vision = vlm.vision as? ViTVisionEncoder { try vision.loadWeights(try ModelFixtures.weights("\(prefix).safetensors")) }
        var state = try ModelFixtures.weights("\(lmPrefix).safetensors")
        for (k, v) in try ModelFixtures.weights(projectorFile).entries { state[k] = v }
        try vlm.loadReleaseWeights(state)
        vlm.eval()
        return vlm
    }

    func check(_ vlm: MiniMindVLM, prefix: String) throws {
        let ids = try ModelFixtures.ints("\(prefix)_ids.npy")
        let pixels = try ModelFixtures.tensor("\(prefix)_pixels.npy")
        let expected = try ModelFixtures.tensor("\(prefix)_logits.npy")
        let logits = noGrad {
            let images = vlm.project(vlm.visionFeatures(pixels))
            return vlm.logits(ids: ids, images: images, imagesPerSample: [[0, 1]])
        }
        XCTAssertLessThanOrEqual(ModelFixtures.maxAbsDiff(logits, expected), 1e-4, "\(prefix) VLM logits")
    }

    func testMiniMind2VShapedSplice() throws {
        try check(try model(vision: "clip", lmPrefix: "llama", lm: try ModelFixtures.llamaConfig(), projector: .linear,
                            tokenId: 34, projectorFile: "vlm2_projector.safetensors"), prefix: "vlm2")
    }

    func testMiniMind3VShapedSplice() throws {
        try check(try model(vision: "siglip", lmPrefix: "qwen3", lm: try ModelFixtures.qwenConfig(), projector: .mlp,
                            tokenId: 12, projectorFile: "vlm3_projector.safetensors"), prefix: "vlm3")
    }

    func testSpliceRunsAndExtraImages() {
        let runs = ImageSplice.runs(in: [5, 9, 9, 1, 9, 2, 9, 9, 9, 4], batch: 2, tokenId: 9)
        XCTAssertEqual(runs[0], [ImageRun(sample: 0, start: 1, length: 2), ImageRun(sample: 0, start: 4, length: 1)])
        XCTAssertEqual(runs[1], [ImageRun(sample: 1, start: 1, length: 3)])
    }
}
