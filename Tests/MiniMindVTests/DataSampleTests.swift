import XCTest
@testable import MiniMindV

/// TrainingSample building against the script's reference (transformers apply_chat_template + HF
/// tokenizers + upstream's label rule) on the real tokenizers; augmentation determinism; padding.
final class DataSampleTests: XCTestCase {
    func tokenizer(_ name: String) throws -> Tokenizer {
        try UpstreamAssets.tokenizer(name)
    }

    func testSamplesMatchUpstreamTemplateTokensAndLabels() throws {
        let data = try Data(contentsOf: TrainingFixtures.url("samples.json"))
        let all = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: [[String: Any]]])
        for (name, preset) in [("minimind2-v", VLMPreset.minimind2SmallV), ("minimind-3v", VLMPreset.minimind3V)] {
            let tok = try tokenizer(name)
            let template = try ChatTemplate(tokenizer: tok)
            for (i, entry) in try XCTUnwrap(all[name]).enumerated() {
                let turns = try XCTUnwrap(entry["conversations"] as? [[String: String]])
                let maxLen = try XCTUnwrap(entry["max_len"] as? Int), images = try XCTUnwrap(entry["images"] as? Int)
                let row = ConversationRow(name: "\(name) #\(i)", messages: turns.map { ChatMessage(role: $0["role"] ?? "", content: $0["content"]) },
                                          images: Array(repeating: .features(Tensor.zeros([1, 1])), count: images))
                let builder = SampleBuilder(tokenizer: tok, template: template, config: preset.config, maxSeqLen: maxLen)
                let sample = try builder.build(row)
                XCTAssertEqual(sample.ids, entry["ids"] as? [Int], "\(name) #\(i) ids")
                XCTAssertEqual(sample.labels, entry["labels"] as? [Int], "\(name) #\(i) labels")
                let padded = sample.padded(to: maxLen + 3)
                XCTAssertEqual(padded.ids.suffix(3), [0, 0, 0])
                XCTAssertEqual(padded.labels.suffix(3), [-100, -100, -100])
            }
        }
    }

    func testLabelRuleOnHandMadeIds() {
        // start = [1, 7], end = [2, 9]: answers labelled from after start through end inclusive.
        let ids = [5, 1, 7, 3, 4, 2, 9, 1, 6, 1, 7, 8, 8]
        let labels = SampleBuilder.labels(ids: ids, start: [1, 7], end: [2, 9], maxLength: 13)
        XCTAssertEqual(labels, [-100, -100, -100, 3, 4, 2, 9, -100, -100, -100, -100, 8, 8])
    }

    func testAugmentationIsSeededAndSwitchable() throws {
        let tok = try tokenizer("minimind-3v")
        let template = try ChatTemplate(tokenizer: tok)
        let row = ConversationRow(name: "r", messages: [.user("Hi"), .assistant("Hello there.")])
        let on = SampleBuilder(tokenizer: tok, template: template, config: VLMPreset.minimind3V.config, maxSeqLen: 200,
                               augmentation: ChatAugmentation(), seed: 3)
        let off = SampleBuilder(tokenizer: tok, template: template, config: VLMPreset.minimind3V.config, maxSeqLen: 200)
        var texts = Set<String>(), stripped = 0, withSystem = 0
        for epoch in 0..<200 {
            let a = try on.build(row, index: 5, epoch: epoch), b = try on.build(row, index: 5, epoch: epoch)
            XCTAssertEqual(a.ids, b.ids, "same seed, epoch and row give the same sample")
            let text = tok.decode(a.ids)
            texts.insert(text)
            if !text.contains("<think>") { stripped += 1 }
            if text.hasPrefix("<|im_start|>system") { withSystem += 1 }
        }
        XCTAssertGreaterThan(texts.count, 2)
        XCTAssertTrue((120...190).contains(stripped), "about 80% lose the empty think block, got \(stripped)/200")
        XCTAssertTrue((20...70).contains(withSystem), "about 20% get a system prompt, got \(withSystem)/200")
        XCTAssertTrue(tok.decode(try off.build(row).ids).contains("<think>\n\n</think>"), "no augmentation: the template's text")
    }
}
