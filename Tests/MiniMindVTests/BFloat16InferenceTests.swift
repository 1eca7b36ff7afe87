import Foundation
import XCTest
@testable import MiniMindTensor
@testable import MiniMindV

/// `MiniMindVLM.storeBFloat16Weights()`: bf16 inference (`Compute.precision = .bf16`) reads one
/// bfloat16 copy per weight matrix instead of rounding the weight at every product. The copies are the
/// same rounding, so image features and logits are bit-identical with and without them; the vision
/// encoder, which is not a child module of the VLM, is covered too.
final class BFloat16InferenceTests: XCTestCase {
    func testStoredWeightCopiesGiveBitIdenticalFeaturesAndLogits() throws {
        let saved = GEMMRoute.bf16Minimum
        GEMMRoute.bf16Minimum = (2, 8, 8)  // this tiny model's products (5 image rows) take the bf16 path
        defer { GEMMRoute.bf16Minimum = saved; BFloat16WeightCache.removeAll() }
        let vision = try GenerationTestSupport.tinyVision(seed: 2)
        let lmConfig = GenerationTestSupport.tinyLanguageConfig(vocab: 64, qkNorm: false)
        let config = VLMConfig(language: lmConfig, vision: vision.config, projector: .mlp, imagePlaceholder: "<image>", imageTokenId: 5)
        let model = try MiniMindVLM(config: config, language: try MiniMindLM(config: lmConfig, seed: 4),
                                    projector: MLPProjector(visionDim: 16, hidden: 32), vision: vision)
        model.eval()
        var g = SeededGenerator(seed: 9)
        let s = vision.config.imageSize
        let pixels = Tensor.randn([1, 3, s, s], generator: &g)
        let ids = (0..<24).map { 6 + $0 % 50 }
        Compute.withPrecision(.bf16) {
            let rounding = (model.visionFeatures(pixels).toArray(), noGrad { model.logits(ids: ids) }.toArray())
            model.storeBFloat16Weights()
            let matrices = (model.parameters() + model.vision.parameters()).filter { $0.shape.count == 2 }
            XCTAssertEqual(BFloat16WeightCache.count, matrices.count, "every weight matrix of the LM, projector and vision encoder")
            XCTAssertGreaterThan(model.vision.parameters().filter { $0.shape.count == 2 }.count, 0)
            XCTAssertEqual(model.visionFeatures(pixels).toArray(), rounding.0)
            XCTAssertEqual(noGrad { model.logits(ids: ids) }.toArray(), rounding.1)
            if Compute.effectivePrecision == .bf16 {
                let f32 = Compute.withPrecision(.f32) { model.visionFeatures(pixels).toArray() }
                XCTAssertNotEqual(f32, rounding.0, "the bf16 path ran (its features differ from float32's)")
            }
        }
    }
}
