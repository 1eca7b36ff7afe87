import XCTest
@testable import MiniMindV

/// A MoE model's loss depends on padding: upstream's router aux loss is a mean over every position
/// the model runs, and upstream runs the batch padded to max_seq_len (MiniMind2-V: max_seq_len − 1
/// positions, X = ids[:-1]; minimind-3v: all max_seq_len). Both trainer modes against upstream's rule
/// (Scripts/gen_moe_padding_fixture.py: transformers Llama / Qwen3 + upstream's MoE feed-forwards):
/// `--pad-to-max-length` gives upstream's loss; the default (cut to the longest sample L, L − 1
/// positions run) gives the same rule on the cut batch — the same cross-entropy, another aux loss.
final class TrainingMoEPaddingTests: XCTestCase {
    func firstStepLoss(_ kind: String, padToMaxLength: Bool) throws -> (loss: Double, fixture: [String: Any]) {
        let doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: TrainingFixtures.url("moe_padding.json"))) as? [String: Any])
        let fixture = try XCTUnwrap(doc[kind] as? [String: Any])
        let ids = try XCTUnwrap(doc["ids"] as? [[Int]]), labels = try XCTUnwrap(doc["labels"] as? [[Int]])
        XCTAssertEqual(ids.count, 3)
        let samples = zip(ids, labels).enumerated().map { TrainingSample(ids: $1.0, labels: $1.1, name: "sample \($0)") }
        let vlm = try TrainingFixtures.model(kind: kind, lmConfig: try XCTUnwrap(fixture["lm_config"]))
        XCTAssertNotNil(vlm.config.language.moe, "the fixture model is a MoE model")
        var recipe = TrainingRecipe.sft(for: vlm.config)
        recipe.batchSize = 3
        recipe.epochs = 1
        recipe.shuffle = false
        recipe.augmentation = nil
        recipe.maxSeqLen = try XCTUnwrap(doc["max_seq_len"] as? Int)
        recipe.padToMaxLength = padToMaxLength
        let summary = try VLMTrainer(model: vlm, recipe: recipe, samples: PreparedSamples(samples)).run()
        XCTAssertEqual(summary.losses.count, 1)
        return (try XCTUnwrap(summary.losses.first), fixture)
    }

    func checkPadded(_ kind: String) throws {
        let (loss, fixture) = try firstStepLoss(kind, padToMaxLength: true)
        let want = try XCTUnwrap(fixture["loss_padded"] as? Double)
        XCTAssertEqual(loss, want, accuracy: 1e-5, "\(kind) --pad-to-max-length: upstream's loss, padding counted by the router")
    }

    func checkCut(_ kind: String) throws {
        let (loss, fixture) = try firstStepLoss(kind, padToMaxLength: false)
        let cut = try XCTUnwrap(fixture["loss_cut"] as? Double), padded = try XCTUnwrap(fixture["loss_padded"] as? Double)
        XCTAssertEqual(loss, cut, accuracy: 1e-5, "\(kind) default: upstream's rule on the batch cut to its longest sample")
        // The two rules differ by far more than the tolerance, so the tests tell them apart.
        XCTAssertGreaterThan(abs(padded - cut), 5e-4)
    }

    func testMiniMind2VPaddedMatchesUpstream() throws { try checkPadded("vlm2moe") }
    func testMiniMind2VDefaultCutsPaddingOutOfTheRouter() throws { try checkCut("vlm2moe") }
    func testMiniMind3VPaddedMatchesUpstream() throws { try checkPadded("vlm3moe") }
    func testMiniMind3VDefaultCutsPaddingOutOfTheRouter() throws { try checkCut("vlm3moe") }
}
