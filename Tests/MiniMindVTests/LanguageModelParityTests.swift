import XCTest
@testable import MiniMindV

/// MiniMindLM against transformers' LlamaForCausalLM (MiniMind2) and Qwen3ForCausalLM (minimind-3)
/// on tiny float32 configurations (Scripts/gen_model_fixtures.py). Tolerance: Docs/Parity.md.
final class LanguageModelParityTests: XCTestCase {
    let logitTolerance: Float = 1e-4

    func loadLM(_ prefix: String, config: LanguageModelConfig) throws -> MiniMindLM {
        let lm = try MiniMindLM(config: config)
        try lm.loadStateDict(try Weights.tensors(try ModelFixtures.weights("\(prefix).safetensors")))
        lm.eval()
        return lm
    }

    func checkFullSequenceAndCache(_ prefix: String, config: LanguageModelConfig) throws {
        let lm = try loadLM(prefix, config: config)
        let ids = try ModelFixtures.ints("\(prefix)_ids.npy")
        let expected = try ModelFixtures.tensor("\(prefix)_logits.npy")
        let full = noGrad { lm.logits(embeddings: lm.embed(ids, batch: 1)) }
        XCTAssertEqual(full.shape, [1, ids.count, config.vocabSize])
        XCTAssertLessThanOrEqual(ModelFixtures.maxAbsDiff(full, expected), logitTolerance, "\(prefix) full-sequence logits")

        // Prefill half, then decode one token at a time: every position equals the full pass.
        let cache = lm.makeCache(batch: 1, maxLength: 64)
        let half = ids.count / 2
        var rows: [Tensor] = [noGrad { lm.logits(embeddings: lm.embed(Array(ids[..<half]), batch: 1), cache: cache) }]
        for id in ids[half...] { rows.append(noGrad { lm.logits(embeddings: lm.embed([id], batch: 1), cache: cache) }) }
        let cached = Tensor.concat(rows, axis: 1)
        XCTAssertLessThanOrEqual(ModelFixtures.maxAbsDiff(cached, expected), logitTolerance, "\(prefix) KV-cache logits")
        XCTAssertEqual(cache.length, ids.count)
    }

    func testLlamaEqualsMiniMind2() throws {
        let config = try ModelFixtures.llamaConfig()
        XCTAssertFalse(config.qkNorm)
        try checkFullSequenceAndCache("llama", config: config)
    }

    func testQwen3EqualsMiniMind3() throws {
        try checkFullSequenceAndCache("qwen3", config: try ModelFixtures.qwenConfig())
    }

    /// Greedy decoding with the cache reproduces transformers' `generate(do_sample=False)` ids.
    func testGreedyIdsEqualTransformersGenerate() throws {
        for (prefix, config) in [("llama", try ModelFixtures.llamaConfig()), ("qwen3", try ModelFixtures.qwenConfig())] {
            let lm = try loadLM(prefix, config: config)
            let ids = try ModelFixtures.ints("\(prefix)_ids.npy")
            let expected = try ModelFixtures.ints("\(prefix)_greedy.npy")
            let cache = lm.makeCache(batch: 1, maxLength: 64)
            var next = noGrad { lm.logits(embeddings: lm.embed(ids, batch: 1), cache: cache, positions: .last) }.argmax(axis: -1)[0]
            var generated = [next]
            while generated.count < expected.count {
                next = noGrad { lm.logits(embeddings: lm.embed([next], batch: 1), cache: cache, positions: .last) }.argmax(axis: -1)[0]
                generated.append(next)
            }
            XCTAssertEqual(generated, expected, "\(prefix) greedy ids")
        }
    }

    func testBatchedPaddedForwardMatchesSingle() throws {
        let config = try ModelFixtures.llamaConfig()
        let lm = try loadLM("llama", config: config)
        let ids = try ModelFixtures.ints("llama_ids.npy")
        let single = noGrad { lm.logits(embeddings: lm.embed(ids, batch: 1)) }
        // Right padding with a key mask: the real positions are unaffected.
        let padded = ids + [0, 0, 0]
        let other = Array(ids.reversed()) + [5, 6, 7]
        let mask = Tensor(shape: [2, padded.count], data: ids.map { _ in 1 } + [0, 0, 0] + padded.map { _ in 1 })
        let both = noGrad { lm.logits(embeddings: lm.embed(padded + other, batch: 2), keyPaddingMask: mask) }
        let first = both.slice(axis: 0, 0..<1).slice(axis: 1, 0..<ids.count)
        XCTAssertLessThanOrEqual(ModelFixtures.maxAbsDiff(first, single), logitTolerance)
    }
}
