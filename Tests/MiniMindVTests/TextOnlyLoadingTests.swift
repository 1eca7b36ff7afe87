import XCTest
@testable import MiniMindV

/// A model without its vision folder serves text prompts with the same logits, and refuses images
/// with `ModelError.noVisionEncoder` (the CLI turns it into advice to give the vision folder).
final class TextOnlyLoadingTests: XCTestCase {
    func testFolderWithoutVisionGivesSameTextLogitsAndRefusesImages() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("textonly-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let tokenizer = try Tokenizer(contentsOf: ConvertRoundTripTests.tokenizerFolder)
        let full = scratch.appendingPathComponent("full"), text = scratch.appendingPathComponent("text")
        try VLMBundle(model: try GenerationTestSupport.tinyVLM(tokenizer: tokenizer), tokenizer: tokenizer)
            .save(to: full, tokenizerFiles: ConvertRoundTripTests.tokenizerFolder)
        try FileManager.default.copyItem(at: full, to: text)
        try FileManager.default.removeItem(at: text.appendingPathComponent("vision"))

        let a = try VLMBundle.load(folder: full), b = try VLMBundle.load(path: text, vision: nil, tokenizer: nil)
        XCTAssertTrue(b.model.vision is MissingVisionEncoder)
        let ids = tokenizer.encode("<|im_start|>user\nhello world<|im_end|>\n<|im_start|>assistant\n")
        let la = noGrad { a.model.logits(ids: ids) }.toArray(), lb = noGrad { b.model.logits(ids: ids) }.toArray()
        XCTAssertEqual(la.count, ids.count * 6400)
        XCTAssertEqual(la, lb)

        let options = SamplingOptions(greedy: true, maxNewTokens: 6, eosTokenIds: [])
        let ga = Generator(bundle: a), gb = Generator(bundle: b)
        let answer = try ga.generate(try ga.chatPrompt("hello", images: []), options: options).ids
        XCTAssertEqual(answer.count, 6)
        XCTAssertEqual(answer, try gb.generate(try gb.chatPrompt("hello", images: []), options: options).ids)
        let picture = try GenerationTestSupport.picture(seed: 2)
        XCTAssertNoThrow(try ga.generate(try ga.chatPrompt("<image>\nwhat is this?", images: [.image(picture)]), options: options))
        XCTAssertThrowsError(try gb.generate(try gb.chatPrompt("<image>\nwhat is this?", images: [.image(picture)]), options: options)) {
            XCTAssertEqual($0 as? ModelError, .noVisionEncoder, "\($0)")
        }
    }

    /// Release weights with only a tokenizer folder load for text; without a tokenizer they are refused.
    func testWeightsWithTokenizerAndNoVisionLoad() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("textonly-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let config = VLMPreset.minimind2SmallV.config
        var state = try StateDict(module: try MiniMindLM(config: config.language))
        for (k, t) in MiniMindVLM.makeProjector(config, seed: 1).stateDict() { state["vision_proj." + k] = try TensorData(tensor: t) }
        let weights = scratch.appendingPathComponent("sft_vlm_512.safetensors")
        try Safetensors.write(state, to: weights)
        let bundle = try VLMBundle.load(path: weights, vision: nil, tokenizer: ConvertRoundTripTests.tokenizerFolder)
        XCTAssertEqual(bundle.model.config.language, config.language)
        XCTAssertThrowsError(try bundle.model.preprocess([try GenerationTestSupport.picture(seed: 1)])) {
            XCTAssertEqual($0 as? ModelError, .noVisionEncoder, "\($0)")
        }
        XCTAssertThrowsError(try VLMBundle.load(path: weights, vision: nil, tokenizer: nil)) {
            XCTAssertEqual($0 as? ModelError, .tokenizerMissing(weights: weights.path), "\($0)")
        }
    }
}
