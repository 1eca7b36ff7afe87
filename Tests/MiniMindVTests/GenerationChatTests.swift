import XCTest
@testable import MiniMindV

/// ChatSession: KV reuse across turns, image-feature cache, context policy; batched generation.
final class GenerationChatTests: XCTestCase {
    let greedy = SamplingOptions(greedy: true, maxNewTokens: 6, eosTokenIds: [])

    func testFollowUpPrefillsOnlyItsNewTokens() throws {
        let gen = try GenerationTestSupport.tinyGenerator()
        // One generated token: the cache then holds exactly the first prompt (the drawn token is not fed back).
        let session = ChatSession(generator: gen, options: SamplingOptions(greedy: true, maxNewTokens: 1, eosTokenIds: []), contextLength: 256)
        _ = try session.ask("what is in this image")
        let firstPrompt = try gen.assembler.assemble([.user("what is in this image")], images: []).ids
        XCTAssertEqual(session.lastStats.prefillTokens, firstPrompt.count)
        XCTAssertEqual(session.cachedTokenCount, firstPrompt.count)

        _ = try session.ask("and the dog")
        let full = try gen.assembler.assemble(Array(session.messages().dropLast()), images: []).ids
        // The cache holds the first prompt; the new rendering shares all of it, except the last token
        // when the answer's text merges with the template's "\n" before it (BPE across the boundary).
        let shared = zip(firstPrompt, full).prefix { $0 == $1 }.count
        XCTAssertGreaterThanOrEqual(shared, firstPrompt.count - 1)
        XCTAssertEqual(session.lastStats.prefillTokens, full.count - shared,
                       "only the tokens after the shared prefix run through the model")
        XCTAssertLessThan(session.lastStats.prefillTokens, full.count - firstPrompt.count + 2)
    }

    func testFollowUpEqualsAFreshSessionWithTheFullHistory() throws {
        let gen = try GenerationTestSupport.tinyGenerator()
        let image = PromptImage.image(try GenerationTestSupport.picture(seed: 1))
        let session = ChatSession(generator: gen, options: greedy, contextLength: 256)
        let first = try session.ask("describe the picture", images: [image])
        XCTAssertEqual(session.lastStats.images, 1)
        XCTAssertEqual(session.lastStats.cachedImages, 0)
        let second = try session.ask("what is the cat")
        XCTAssertLessThan(session.lastStats.prefillTokens, session.cachedTokenCount / 2, "the follow-up reused the cache")
        XCTAssertEqual(session.lastStats.images, 0, "the first image is in the cache prefix, not re-encoded")

        // A fresh run over the whole conversation prefills everything at once.
        let allIds = try gen.assembler.assemble(Array(session.messages().dropLast()), images: [image]).ids
        let direct = try gen.generate(GenerationPrompt(ids: allIds, images: [image]), options: greedy)
        XCTAssertEqual(direct.ids, second.ids, "KV reuse gives the same greedy answer as a full prefill")
        XCTAssertFalse(first.ids.isEmpty)
    }

    func testImageFeaturesAreCachedByContent() throws {
        let gen = try GenerationTestSupport.tinyGenerator()
        let session = ChatSession(generator: gen, options: greedy, contextLength: 256)
        let picture = try GenerationTestSupport.picture(seed: 2)
        let a = try session.ask("<image> what is this", images: [.image(picture)])
        session.reset()
        let b = try session.ask("<image> what is this", images: [.image(picture)])
        XCTAssertEqual(session.lastStats.cachedImages, 1, "same pixels after a reset: features from the cache")
        XCTAssertEqual(session.lastStats.imageEncodeSeconds, 0)
        XCTAssertEqual(a.ids, b.ids)
        // The same file read twice has the same key; another picture has another.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gen-cache-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try picture.write(to: dir.appendingPathComponent("a.png"))
        XCTAssertEqual(PromptImage.file(dir.appendingPathComponent("a.png")).contentKey,
                       PromptImage.encoded(try Data(contentsOf: dir.appendingPathComponent("a.png"))).contentKey)
        XCTAssertNotNil(PromptImage.file(dir.appendingPathComponent("a.png")).contentKey)
        XCTAssertNotEqual(PromptImage.image(picture).contentKey, PromptImage.image(try GenerationTestSupport.picture(seed: 3)).contentKey)
        XCTAssertNil(PromptImage.features(Tensor.zeros([2, 2])).contentKey, "features are not cached")
    }

    func testContextPolicyDropsOldestTurnsAndRejectsTooLongPrompts() throws {
        let gen = try GenerationTestSupport.tinyGenerator()
        let session = ChatSession(generator: gen, options: SamplingOptions(greedy: true, maxNewTokens: 4, eosTokenIds: []),
                                  contextLength: 64)
        let question = "the cat sat on the mat"
        var dropped = 0
        for _ in 0..<4 {
            _ = try session.ask(question)
            dropped += session.lastDroppedTurns
            // What the session kept fits with the token budget.
            let kept = try gen.assembler.assemble(Array(session.messages().dropLast()), images: []).ids
            XCTAssertLessThanOrEqual(kept.count + 4, 64)
        }
        XCTAssertGreaterThan(dropped, 0, "older turns were dropped to fit 64 tokens")
        XCTAssertEqual(session.turns.count + dropped, 4)
        XCTAssertLessThanOrEqual(session.cachedTokenCount, 64)

        let turnsBefore = session.turns.count
        let long = String(repeating: "describe the picture please ", count: 20)
        XCTAssertThrowsError(try session.ask(long)) { error in
            guard case GenerationError.promptTooLong(let tokens, let context)? = error as? GenerationError else {
                return XCTFail("expected promptTooLong, got \(error)")
            }
            XCTAssertEqual(context, 64)
            XCTAssertGreaterThan(tokens, 64)
            XCTAssertTrue("\(error)".contains("context"))
        }
        XCTAssertEqual(session.turns.count, turnsBefore, "a rejected question leaves the session as it was")
        XCTAssertNoThrow(try session.ask("hello"), "the session continues")
    }

    /// Dropped exchanges hand their image to the first exchange kept, so the conversation still
    /// sees it; the answer equals a fresh full prefill of what was kept (the image spliced in).
    func testDroppedTurnsKeepTheConversationsImage() throws {
        let gen = try GenerationTestSupport.tinyGenerator()
        let image = PromptImage.image(try GenerationTestSupport.picture(seed: 6))
        let options = SamplingOptions(greedy: true, maxNewTokens: 4, eosTokenIds: [])
        let session = ChatSession(generator: gen, options: options, contextLength: 80)
        _ = try session.ask("describe the picture", images: [image])
        var drops = 0
        for _ in 0..<5 {
            let answer = try session.ask("the cat sat on the mat")
            if session.lastDroppedTurns > 0 {
                drops += 1
                XCTAssertEqual(session.lastReattachedImages, 1, "the dropped first exchange's image was carried forward")
            }
            XCTAssertEqual(session.lastImagesLeftOut, 0)
            XCTAssertEqual(session.turns.flatMap(\.images).map(\.contentKey), [image.contentKey], "the image stays in the conversation")
            XCTAssertTrue(session.turns[0].question.hasPrefix("<image>"))
            let kept = try gen.assembler.assemble(Array(session.messages().dropLast()), images: [image]).ids
            XCTAssertLessThanOrEqual(kept.count + 4, 80)
            let direct = try gen.generate(GenerationPrompt(ids: kept, images: [image]), options: options)
            XCTAssertEqual(direct.ids, answer.ids, "the answer is the one a full prefill with the image gives")
        }
        XCTAssertGreaterThan(drops, 0, "80 tokens cannot hold six exchanges")
    }

    /// The answer budget is clipped to what is left before any exchange is dropped: with
    /// maxNewTokens = the whole context (the demo model's case: 512 and 512) a follow-up keeps the
    /// conversation, and the answer stops with .contextFull at the latest.
    func testAnswerBudgetIsClippedBeforeHistoryIsDropped() throws {
        let gen = try GenerationTestSupport.tinyGenerator()
        let image = PromptImage.image(try GenerationTestSupport.picture(seed: 7))
        let session = ChatSession(generator: gen, options: SamplingOptions(greedy: true, maxNewTokens: 6, eosTokenIds: []),
                                  contextLength: 256)
        _ = try session.ask("describe the picture", images: [image])
        session.options.maxNewTokens = 256
        let second = try session.ask("what is in this image")
        XCTAssertEqual(session.lastDroppedTurns, 0, "the prompt leaves more than min(256, 256/4) = 64 tokens: nothing dropped")
        XCTAssertEqual(session.turns.count, 2)
        XCTAssertEqual(session.turns[0].images.map(\.contentKey), [image.contentKey])
        XCTAssertEqual(second.finishReason, .contextFull, "no eos: the answer runs until the context is full")
        XCTAssertEqual(session.cachedTokenCount, 256)
    }

    /// When the image itself no longer fits beside the question, the answer is given without it
    /// and the session says so.
    func testImageThatNoLongerFitsIsReported() throws {
        let gen = try GenerationTestSupport.tinyGenerator()
        let image = PromptImage.image(try GenerationTestSupport.picture(seed: 8))
        let long = "describe the picture please, the cat sat on the mat in the park"
        let alone = try gen.chatPrompt(long).ids.count
        let withImage = try gen.chatPrompt(long, images: [image]).ids.count
        XCTAssertLessThan(alone, withImage)
        let session = ChatSession(generator: gen, options: SamplingOptions(greedy: true, maxNewTokens: 1, eosTokenIds: []),
                                  contextLength: withImage)
        _ = try session.ask("hi", images: [image])
        XCTAssertEqual(session.lastImagesLeftOut, 0)
        _ = try session.ask(long)
        XCTAssertEqual(session.lastDroppedTurns, 1)
        XCTAssertEqual(session.lastImagesLeftOut, 1, "the image did not fit: the answer was given without it")
        XCTAssertTrue(session.turns.flatMap(\.images).isEmpty)
    }

    func testImageMarkerMismatchIsAClearError() throws {
        let gen = try GenerationTestSupport.tinyGenerator()
        let session = ChatSession(generator: gen, options: greedy, contextLength: 256)
        XCTAssertThrowsError(try session.ask("<image> and <image>", images: [.image(try GenerationTestSupport.picture())])) { error in
            XCTAssertEqual(error as? PromptError, .imageCountMismatch(markers: 2, images: 1))
        }
        XCTAssertTrue(session.turns.isEmpty)
    }

    func testBatchedEqualsIndividual() throws {
        let gen = try GenerationTestSupport.tinyGenerator()
        let pictures: [PromptImage] = [.image(try GenerationTestSupport.picture(seed: 4)), .image(try GenerationTestSupport.picture(seed: 5))]
        let prompts = [
            try gen.chatPrompt("<image> describe the picture please", images: [pictures[0]]),
            try gen.chatPrompt("hello"),
            try gen.chatPrompt("<image> what is in this image, and <image> this one?", images: pictures),
            try gen.chatPrompt("a dog in the park"),
        ]
        XCTAssertGreaterThan(Set(prompts.map(\.ids.count)).count, 2, "different lengths need left padding")
        let options = SamplingOptions(greedy: true, maxNewTokens: 8, eosTokenIds: [])
        let batched = try gen.generateBatch(prompts, options: options)
        for (i, p) in prompts.enumerated() {
            let alone = try gen.generate(p, options: options)
            XCTAssertEqual(batched[i].ids, alone.ids, "prompt \(i)")
            XCTAssertEqual(batched[i].text, alone.text, "prompt \(i)")
        }
        // Seeded sampling: each row draws as its prompt would alone.
        let sampled = SamplingOptions(temperature: 1, topP: 0.9, topK: 20, seed: 11, maxNewTokens: 8, eosTokenIds: [])
        let rows = try gen.generateBatch(prompts, options: sampled)
        XCTAssertEqual(rows[1].ids, try gen.generate(prompts[1], options: sampled).ids)
        XCTAssertEqual(try gen.generate(prompts[1], options: sampled).ids, try gen.generate(prompts[1], options: sampled).ids,
                       "a fixed seed reproduces the draw")
    }

    func testMiniMind3TemplateFollowUpWithThinkBlocks() throws {
        let tok = try UpstreamAssets.tokenizer("minimind-3v")
        let vision = try GenerationTestSupport.tinyVision(seed: 2)
        let lmConfig = GenerationTestSupport.tinyLanguageConfig(vocab: 6400, qkNorm: true)
        let config = VLMConfig(language: lmConfig, vision: vision.config, projector: .mlp, imagePlaceholder: "<|image_pad|>", imageTokenId: 12)
        let lm = try MiniMindLM(config: lmConfig, seed: 4)
        var g = SeededGenerator(seed: 5)
        for (name, t) in lm.stateDict() where !name.contains("norm") {
            let p = t.mutablePointer
            for i in 0..<t.count { p[i] = 0.3 * g.nextNormal() }
        }
        let model = try MiniMindVLM(config: config, language: lm, projector: MLPProjector(visionDim: 16, hidden: 32), vision: vision)
        model.eval()
        let gen = Generator(model: model, tokenizer: tok)
        XCTAssertEqual(gen.template?.kind, .minimind3)
        let session = ChatSession(generator: gen, options: greedy, contextLength: 512)
        let image = PromptImage.image(try GenerationTestSupport.picture(seed: 7))
        _ = try session.ask("这张图片里有什么？", images: [image])
        let second = try session.ask("颜色呢？")
        let allIds = try gen.assembler.assemble(Array(session.messages().dropLast()), images: [image]).ids
        XCTAssertLessThan(session.lastStats.prefillTokens, allIds.count / 2, "the follow-up reused the cache")
        let direct = try gen.generate(GenerationPrompt(ids: allIds, images: [image]), options: greedy)
        XCTAssertEqual(direct.ids, second.ids)
    }
}
