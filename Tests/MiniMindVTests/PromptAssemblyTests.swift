import XCTest
@testable import MiniMindV

/// PromptAssembler against transformers (apply_chat_template + tokenizer, upstream's marker rule;
/// `Scripts/gen_prompt_fixtures.py` → Tests/Fixtures/prompt/assembled.json), its typed errors, the
/// training/generation prefix agreement, and the image forms through the generator.
final class PromptAssemblyTests: XCTestCase {
    struct Case {
        var name: String
        var messages: [ChatMessage]
        var images: Int
        var generationPrompt: Bool
        var thinking: Bool?
        var fillQuestion: Bool
        var ids: [Int]
        var slots: [Range<Int>]
        var generationPrefixLength: Int?
    }

    static let generations: [(name: String, preset: VLMPreset)] = [("minimind2-v", .minimind2SmallV), ("minimind-3v", .minimind3V)]

    func cases(_ generation: String) throws -> [Case] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/prompt/assembled.json")
        let all = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: [String: Any]])
        let list = try XCTUnwrap(all[generation]?["cases"] as? [[String: Any]])
        XCTAssertGreaterThanOrEqual(list.count, 9)
        return try list.map { c in
            let messages = try XCTUnwrap(c["messages"] as? [[String: String]]).map { ChatMessage(role: $0["role"] ?? "", content: $0["content"]) }
            let slots = try XCTUnwrap(c["slots"] as? [[Int]]).map { $0[0]..<$0[1] }
            return Case(name: try XCTUnwrap(c["name"] as? String), messages: messages, images: try XCTUnwrap(c["images"] as? Int),
                        generationPrompt: try XCTUnwrap(c["generationPrompt"] as? Bool), thinking: c["thinking"] as? Bool,
                        fillQuestion: try XCTUnwrap(c["fillQuestion"] as? Bool), ids: try XCTUnwrap(c["ids"] as? [Int]), slots: slots,
                        generationPrefixLength: c["generationPrefixLength"] as? Int)
        }
    }

    func assembler(_ generation: String, _ preset: VLMPreset) throws -> PromptAssembler {
        let tok = try UpstreamAssets.tokenizer(generation)
        return PromptAssembler(tokenizer: tok, template: try ChatTemplate(tokenizer: tok), config: preset.config)
    }

    /// Stand-ins: assembly never looks at an image, only counts them.
    func images(_ n: Int) -> [PromptImage] { Array(repeating: .features(Tensor.zeros([1, 1])), count: n) }

    func testAssembledPromptsEqualTransformers() throws {
        for (name, preset) in Self.generations {
            let assembler = try assembler(name, preset)
            for c in try cases(name) {
                var messages = c.messages
                if c.fillQuestion, let last = messages.lastIndex(where: { $0.role == "user" }) {
                    messages[last].content = assembler.question(messages[last].content ?? "", images: c.images)
                }
                let prompt = try assembler.assemble(messages, images: images(c.images), generationPrompt: c.generationPrompt,
                                                    thinking: c.thinking)
                XCTAssertEqual(prompt.ids, c.ids, "\(name) / \(c.name)")
                XCTAssertEqual(prompt.imageSlots, c.slots, "\(name) / \(c.name)")
                XCTAssertEqual(prompt.images.count, c.images)
            }
        }
    }

    /// SampleBuilder's training ids are transformers' for the whole conversation, and the
    /// generation prompt of the conversation up to the last answer is their prefix.
    func testTrainingSamplesAndGenerationPromptsShareTheirPrefix() throws {
        for (name, preset) in Self.generations {
            let assembler = try assembler(name, preset)
            let training = try cases(name).filter { !$0.generationPrompt }
            XCTAssertEqual(training.count, 2)
            for c in training {
                let builder = SampleBuilder(tokenizer: assembler.tokenizer, template: try XCTUnwrap(assembler.template), config: preset.config,
                                            maxSeqLen: 4096, rolesByPosition: false)
                let sample = try builder.build(ConversationRow(name: c.name, messages: c.messages, images: images(c.images)))
                XCTAssertEqual(sample.ids, c.ids, "\(name) / \(c.name)")
                let last = try XCTUnwrap(c.messages.lastIndex { $0.role == "assistant" })
                let asked = Array(c.messages[..<last])
                let markers = asked.map { ($0.content ?? "").components(separatedBy: "<image>").count - 1 }.reduce(0, +)
                let prompt = try assembler.assemble(asked, images: images(markers))
                XCTAssertEqual(prompt.ids.count, c.generationPrefixLength, "\(name) / \(c.name)")
                XCTAssertEqual(Array(sample.ids.prefix(prompt.ids.count)), prompt.ids, "\(name) / \(c.name): generation prompt = training prefix")
                // The answer after the generation prompt is labelled (minimind-3's empty think block, part of
                // its generation prompt, is labelled too: upstream labels from "<|im_start|>assistant\n" on).
                XCTAssertNotEqual(sample.labels[prompt.ids.count], TrainingSample.ignoreLabel)
                if name == "minimind2-v" { XCTAssertEqual(sample.labels[prompt.ids.count - 1], TrainingSample.ignoreLabel) }
            }
        }
    }

    func testMismatchesAreTypedErrors() throws {
        let v2 = try assembler("minimind2-v", .minimind2SmallV), v3 = try assembler("minimind-3v", .minimind3V)
        func expect(_ error: PromptError, _ body: () throws -> Any) {
            XCTAssertThrowsError(try body()) { XCTAssertEqual($0 as? PromptError, error, "\($0)") }
        }
        expect(.imageCountMismatch(markers: 2, images: 1)) { try v2.assemble([.user("<image> and <image>")], images: self.images(1)) }
        expect(.imageCountMismatch(markers: 0, images: 1)) { try v2.assemble([.user("no marker")], images: self.images(1)) }
        expect(.imageCountMismatch(markers: 1, images: 0)) { try v3.assemble([.user("<image>\nwhat?")], images: []) }
        // Across turns: one marker in each of two questions, three images.
        expect(.imageCountMismatch(markers: 2, images: 3)) {
            try v3.assemble([.user("<image>a"), .assistant("b"), .user("<image>c")], images: self.images(3))
        }
        // Some markers but not one per image: the question is left as written, and refused.
        XCTAssertEqual(v2.question("<image> and", images: 2), "<image> and")
        XCTAssertEqual(v2.question("what?", images: 2), "<image>\n<image>\nwhat?")
        XCTAssertEqual(v2.question("what?", images: 0), "what?")
        expect(.markerInSystemMessage(index: 0)) { try v2.assemble([.system("see <image>"), .user("<image>")], images: self.images(2)) }
        // Two markers without text between them make one run of two images.
        expect(.badImageRun(length: 128, expected: 64)) { try v3.assemble([.user("<image><image>")], images: self.images(2)) }
        // '@' written by the user next to MiniMind2-V's '@' run lengthens it; alone it is a run of its own.
        expect(.badImageRun(length: 197, expected: 196)) { try v2.assemble([.user("@<image>")], images: self.images(1)) }
        expect(.badImageRun(length: 1, expected: 196)) { try v2.assemble([.user("mail a@b.c <image>")], images: self.images(1)) }
        // Without images an '@' is text.
        XCTAssertEqual(try v2.assemble([.user("mail a@b.c")], images: []).imageSlots, [])
        // Raw text: the same count rule, and ids checked as tokenised.
        expect(.imageCountMismatch(markers: 1, images: 2)) { try v3.assemble(text: "<image>", images: self.images(2)) }
        XCTAssertEqual(try v3.assemble(text: "<image>x", images: self.images(1)).imageSlots, [0..<64])
        expect(.imageRunCountMismatch(runs: 0, images: 1)) { try v3.imageSlots(in: [5, 6, 7], images: 1) }
        let bare = PromptAssembler(tokenizer: v2.tokenizer, template: nil, config: VLMPreset.minimind2SmallV.config)
        expect(.noChatTemplate) { try bare.assemble([.user("hi")], images: []) }
        // Training rows carry the same errors as malformed rows.
        let builder = SampleBuilder(tokenizer: v2.tokenizer, template: try XCTUnwrap(v2.template), config: VLMPreset.minimind2SmallV.config,
                                    maxSeqLen: 512)
        XCTAssertThrowsError(try builder.build(ConversationRow(name: "r", messages: [.user("<image>"), .assistant("x")], images: []))) {
            XCTAssertTrue("\($0)".contains("1 <image> marker(s) but 0 image(s)"), "\($0)")
        }
    }

    /// The same picture as a picture, encoded bytes, preprocessed pixels or precomputed vision
    /// features gives the same answer through the batched greedy path; features also run on a
    /// model without a vision encoder's work, and a wrong shape is named.
    func testEveryImageFormGivesTheSameAnswer() throws {
        let gen = try GenerationTestSupport.tinyGenerator()
        let picture = try GenerationTestSupport.picture(seed: 3)
        let pixels = try gen.model.preprocess([picture])
        let features = gen.model.visionFeatures(pixels)
        let forms: [PromptImage] = [.image(picture), .encoded(try picture.pngData()), .pixels(pixels.reshaped(Array(pixels.shape.dropFirst()))),
                                    .features(features.reshaped(Array(features.shape.dropFirst())))]
        let prompts = try forms.map { try gen.chatPrompt("what is in this image", images: [$0]) }
        XCTAssertEqual(Set(prompts.map(\.ids)).count, 1)
        let options = SamplingOptions(greedy: true, maxNewTokens: 6, eosTokenIds: [])
        let answers = try gen.generateBatch(prompts, options: options).map(\.ids)
        for (i, a) in answers.enumerated() { XCTAssertEqual(a, answers[0], "form \(i)") }
        XCTAssertEqual(try gen.generate(prompts[3], options: options).ids, answers[0])

        XCTAssertThrowsError(try gen.generate(try gen.chatPrompt("x", images: [.features(Tensor.zeros([2, 2]))]), options: options)) {
            XCTAssertEqual($0 as? GenerationError, .imageShape(index: 0, form: "features", expected: [4, 16], found: [2, 2]))
        }
        // A chat session caches by content: the picture again, by bytes or decoded, skips the encoder.
        let session = ChatSession(generator: gen, options: options, contextLength: 256)
        _ = try session.ask("what is in this image", images: [.image(picture)])
        session.reset()
        _ = try session.ask("what is in this image", images: [.image(picture)])
        XCTAssertEqual(session.lastStats.cachedImages, 1)
        XCTAssertEqual(session.featureCache.hits, 1)
    }
}
