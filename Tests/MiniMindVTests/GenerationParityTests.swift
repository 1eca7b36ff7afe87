import XCTest
@testable import MiniMindV

/// Generator against transformers' `generate(do_sample=False)` ids on the tiny Llama (MiniMind2) and
/// Qwen3 (minimind-3) fixtures, and streaming of multi-byte characters.
final class GenerationParityTests: XCTestCase {
    /// A generator around a fixture LM (prompts here have no images).
    func generator(_ prefix: String, config: LanguageModelConfig) throws -> Generator {
        let lm = try MiniMindLM(config: config)
        try lm.loadStateDict(try Weights.tensors(try ModelFixtures.weights("\(prefix).safetensors")))
        return try GenerationTestSupport.generator(around: lm)
    }

    func fixtures() throws -> [(String, LanguageModelConfig)] {
        [("llama", try ModelFixtures.llamaConfig()), ("qwen3", try ModelFixtures.qwenConfig())]
    }

    func testGreedyEqualsTransformersGenerate() throws {
        for (prefix, config) in try fixtures() {
            let gen = try generator(prefix, config: config)
            let ids = try ModelFixtures.ints("\(prefix)_ids.npy")
            let expected = try ModelFixtures.ints("\(prefix)_greedy.npy")
            // eos disabled, as the fixture script (eos_token_id=None); sampling filters are irrelevant to argmax.
            let options = SamplingOptions(greedy: true, maxNewTokens: expected.count, eosTokenIds: [])
            let result = try gen.generate(GenerationPrompt(ids: ids), options: options)
            XCTAssertEqual(result.ids, expected, "\(prefix) greedy ids")
            XCTAssertEqual(result.finishReason, .maxTokens)
            XCTAssertEqual(result.stats.prefillTokens, ids.count)
            XCTAssertEqual(result.stats.generatedTokens, expected.count)
            // Temperature 0 means greedy as well.
            var t0 = options
            t0.greedy = false
            t0.temperature = 0
            XCTAssertEqual(try gen.generate(GenerationPrompt(ids: ids), options: t0).ids, expected, "\(prefix) temperature 0")
        }
    }

    func testAsyncStreamGivesTheSameIdsAndTheResult() async throws {
        let (prefix, config) = try fixtures()[0]
        let gen = try generator(prefix, config: config)
        let ids = try ModelFixtures.ints("\(prefix)_ids.npy")
        let expected = try ModelFixtures.ints("\(prefix)_greedy.npy")
        var streamed: [Int] = [], text = ""
        var final: GenerationResult?
        for try await event in gen.stream(GenerationPrompt(ids: ids), options: SamplingOptions(greedy: true, maxNewTokens: expected.count, eosTokenIds: [])) {
            switch event {
            case let .text(piece, id):
                if let id { streamed.append(id) }
                text += piece
            case let .finished(result): final = result
            }
        }
        XCTAssertEqual(streamed, expected)
        XCTAssertEqual(final?.ids, expected)
        XCTAssertEqual(final?.text, text)
    }

    func testCancellingTheConsumerStopsGeneration() async throws {
        let gen = try GenerationTestSupport.tinyGenerator()
        let prompt = try gen.chatPrompt("hello")
        let task = Task { () -> Int in
            var count = 0
            for try await event in gen.stream(prompt, options: SamplingOptions(maxNewTokens: 400, eosTokenIds: [])) {
                if case .text = event { count += 1 }
                if count == 3 { break }  // leaving the loop terminates the stream and cancels the producer
            }
            return count
        }
        let count = try await task.value
        XCTAssertEqual(count, 3)
        // A cancelled task gets .cancelled from the synchronous API too.
        let cancelled = Task { () throws -> FinishReason in
            withUnsafeCurrentTask { $0?.cancel() }
            return try gen.generate(prompt, options: SamplingOptions(maxNewTokens: 50, eosTokenIds: [])).finishReason
        }
        let reason = try await cancelled.value
        XCTAssertEqual(reason, .cancelled)
    }

    /// A one-layer LM that always predicts a fixed successor of the current token (one-hot
    /// embeddings; the MLP adds a large vector at the successor's embedding; attention output is 0).
    /// It lets a test stream any chosen token path.
    func successorGenerator(tokenizer: Tokenizer, next: [Int: Int]) throws -> Generator {
        let v = 304  // ≥ the tokenizer's ids; also the hidden size (one-hot embeddings)
        let config = LanguageModelConfig(vocabSize: v, hiddenSize: v, numHiddenLayers: 1, numAttentionHeads: 8, numKeyValueHeads: 2,
                                         headDim: v / 8, intermediateSize: v, rmsNormEps: 1e-5, maxPositionEmbeddings: 256, qkNorm: false)
        let lm = try MiniMindLM(config: config)
        var state: [String: Tensor] = [:]
        for (name, t) in lm.stateDict() { state[name] = t }
        func matrix(_ f: (Int, Int) -> Float) -> Tensor {
            var data = [Float](repeating: 0, count: v * v)
            for r in 0..<v { for c in 0..<v { data[r * v + c] = f(r, c) } }
            return Tensor(shape: [v, v], data: data)
        }
        let identity = matrix { $0 == $1 ? 1 : 0 }
        state["model.embed_tokens.weight"] = identity
        state["lm_head.weight"] = identity
        state["model.layers.0.self_attn.o_proj.weight"] = Tensor.zeros([v, v])
        state["model.layers.0.mlp.gate_proj.weight"] = identity
        state["model.layers.0.mlp.up_proj.weight"] = identity
        state["model.layers.0.mlp.down_proj.weight"] = matrix { out, inp in next[inp] == out ? 1 : 0 }
        try lm.loadStateDict(state)
        let vision = try GenerationTestSupport.tinyVision(seed: 1)
        let vlmConfig = VLMConfig(language: config, vision: vision.config, projector: .linear, imagePlaceholder: "@",
                                  imageTokenId: try XCTUnwrap(tokenizer.tokenToId("@")))
        let model = try MiniMindVLM(config: vlmConfig, language: lm, projector: LinearProjector(visionDim: 16, hidden: v), vision: vision)
        model.eval()
        return Generator(model: model, tokenizer: tokenizer, template: ChatTemplate(kind: .minimind2))
    }

    func testStreamingChineseAndEmojiNeverShowsABrokenCharacter() throws {
        let tok = try GenerationTestSupport.tinyTokenizer()
        let target = "中文🙂!"
        let path = tok.encode(target)
        // The tokenizer has no tokens for these characters: 中 文 are 3 byte tokens each, 🙂 is 4.
        XCTAssertEqual(path.count, 11, "every multi-byte character is split across tokens")
        XCTAssertEqual(Set(path).count, path.count, "the successor path needs distinct tokens")
        let start = try XCTUnwrap(tok.tokenToId("h"))
        let eos = 2
        var next: [Int: Int] = [start: path[0]]
        for (a, b) in zip(path, path.dropFirst()) { next[a] = b }
        next[path.last!] = eos
        let gen = try successorGenerator(tokenizer: tok, next: next)

        var pieces: [String] = []
        let result = try gen.generate(GenerationPrompt(ids: [start]), options: .greedy(maxNewTokens: 20)) { _, text in
            pieces.append(text)
            return true
        }
        XCTAssertEqual(result.ids, path + [eos], "the model walks the chosen path")
        XCTAssertEqual(result.finishReason, .eos)
        XCTAssertEqual(result.text, target)
        XCTAssertEqual(pieces.joined(), target)
        XCTAssertFalse(pieces.contains { $0.unicodeScalars.contains("\u{FFFD}") }, "no replacement characters: \(pieces)")
        // Pieces are whole characters: empty until a character completes, then exactly that character.
        XCTAssertEqual(pieces.filter { !$0.isEmpty }, ["中", "文", "🙂", "!"])

        // The async stream behaves the same; a stop string on the emoji cuts the text before it.
        let stopped = try gen.generate(GenerationPrompt(ids: [start]), options: SamplingOptions(greedy: true, maxNewTokens: 20, stopStrings: ["🙂"]))
        XCTAssertEqual(stopped.text, "中文")
        XCTAssertEqual(stopped.finishReason, .stopString)
        XCTAssertEqual(stopped.ids, Array(path.prefix(10)), "ids run up to the token completing the stop string")
    }
}
