import XCTest
@testable import MiniMindV

/// A MoE model's loss depends on padding: upstream's router aux loss is a mean over every position
/// of the batch padded to max_seq_len. Both trainer modes against upstream's rule
/// (Scripts/gen_moe_padding_fixture.py: transformers Llama + upstream's MiniMind2 MoE feed-forward):
/// `--pad-to-max-length` gives upstream's loss; the default (cut to the longest sample) gives the
/// same rule applied to the cut batch — the same cross-entropy, a different aux loss.
final class TrainingMoEPaddingTests: XCTestCase {
    func firstStepLoss(padToMaxLength: Bool) throws -> (loss: Double, fixture: [String: Any]) {
        let fixture = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: TrainingFixtures.url("moe_padding.json"))) as? [String: Any])
        let lmConfig = try XCTUnwrap(fixture["lm_config"])
        let ids = try XCTUnwrap(fixture["ids"] as? [[Int]]), labels = try XCTUnwrap(fixture["labels"] as? [[Int]])
        XCTAssertEqual(ids.count, 3)
        let samples = zip(ids, labels).enumerated().map { TrainingSample(ids: $1.0, labels: $1.1, name: "sample \($0)") }
        let vlm = try TrainingFixtures.model(kind: "vlm2moe", lmConfig: lmConfig)
        XCTAssertNotNil(vlm.config.language.moe, "the fixture model is a MoE model")
        var recipe = TrainingRecipe.sft(for: vlm.config)
        recipe.batchSize = 3
        recipe.epochs = 1
        recipe.shuffle = false
        recipe.maxSeqLen = try XCTUnwrap(fixture["max_seq_len"] as? Int)
        recipe.padToMaxLength = padToMaxLength
        let summary = try VLMTrainer(model: vlm, recipe: recipe, samples: PreparedSamples(samples)).run()
        XCTAssertEqual(summary.losses.count, 1)
        return (try XCTUnwrap(summary.losses.first), fixture)
    }

    func testPaddedToMaxLengthMatchesUpstream() throws {
        let (loss, fixture) = try firstStepLoss(padToMaxLength: true)
        let want = try XCTUnwrap(fixture["loss_padded"] as? Double)
        XCTAssertEqual(loss, want, accuracy: 1e-5, "--pad-to-max-length: upstream's loss, padding counted by the router")
    }

    func testDefaultCutsPaddingOutOfTheRouterStatistics() throws {
        let (loss, fixture) = try firstStepLoss(padToMaxLength: false)
        let cut = try XCTUnwrap(fixture["loss_cut"] as? Double), padded = try XCTUnwrap(fixture["loss_padded"] as? Double)
        XCTAssertEqual(loss, cut, accuracy: 1e-5, "default: upstream's rule on the batch cut to its longest sample")
        // The two rules differ by far more than the tolerance, so the tests tell them apart.
        XCTAssertGreaterThan(abs(padded - cut), 1e-4)
    }
}
