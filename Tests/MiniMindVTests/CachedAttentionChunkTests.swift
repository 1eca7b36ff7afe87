import XCTest
@testable import MiniMindV

/// The cached inference path on prompts long enough for several query chunks (CachedAttention
/// chunks of 64 tokens) and with padded batches, against the full-sequence path of the same
/// transformers-verified fixture weights (LanguageModelParityTests checks that path against
/// transformers; its attention is the separate `scaledDotProductAttention` op). Tolerance 1e-4 as there.
final class CachedAttentionChunkTests: XCTestCase {
    let tolerance: Float = 1e-4

    func load(_ prefix: String, _ config: LanguageModelConfig) throws -> MiniMindLM {
        let lm = try MiniMindLM(config: config)
        try lm.loadStateDict(try Weights.tensors(try ModelFixtures.weights("\(prefix).safetensors")))
        lm.eval()
        return lm
    }

    func randomIds(_ n: Int, vocab: Int, seed: UInt64) -> [Int] {
        var g = SeededGenerator(seed: seed)
        return (0..<n).map { _ in Int(g.next() % UInt64(vocab)) }
    }

    /// Prefill 150 tokens (chunks 64 + 64 + 22), then a 30-token piece (one ragged chunk with a past),
    /// then 20 single steps: every position equals the full pass.
    func checkChunkedPrefill(_ prefix: String, _ config: LanguageModelConfig) throws {
        let lm = try load(prefix, config)
        let ids = randomIds(200, vocab: config.vocabSize, seed: 11)
        let full = noGrad { lm.logits(embeddings: lm.embed(ids, batch: 1)) }
        let cache = lm.makeCache(batch: 1, maxLength: 200)
        var pieces: [Tensor] = []
        for range in [0..<150, 150..<180] {
            pieces.append(noGrad { lm.logits(embeddings: lm.embed(Array(ids[range]), batch: 1), cache: cache) })
        }
        for id in ids[180...] { pieces.append(noGrad { lm.logits(embeddings: lm.embed([id], batch: 1), cache: cache) }) }
        XCTAssertLessThanOrEqual(ModelFixtures.maxAbsDiff(Tensor.concat(pieces, axis: 1), full), tolerance, prefix)

        // `.last` gives the last row of the same computation; its last block runs the query side for
        // the last position only, so the decode steps after it check that every position's k and v
        // still reached the cache (a fresh cache: a reset one still holds the entries written above).
        let lastCache = lm.makeCache(batch: 1, maxLength: 200)
        let last = noGrad { lm.logits(embeddings: lm.embed(Array(ids[0..<150]), batch: 1), cache: lastCache, positions: .last) }
        XCTAssertLessThanOrEqual(ModelFixtures.maxAbsDiff(last, full.slice(axis: 1, 149..<150)), tolerance, "\(prefix) .last")
        var steps: [Tensor] = []
        for id in ids[150..<160] {
            steps.append(noGrad { lm.logits(embeddings: lm.embed([id], batch: 1), cache: lastCache, positions: .last) })
        }
        XCTAssertLessThanOrEqual(ModelFixtures.maxAbsDiff(Tensor.concat(steps, axis: 1), full.slice(axis: 1, 150..<160)),
                                 tolerance, "\(prefix) decode after a .last prefill")
    }

    func testChunkedPrefillLlama() throws { try checkChunkedPrefill("llama", try ModelFixtures.llamaConfig()) }
    func testChunkedPrefillQwen3() throws { try checkChunkedPrefill("qwen3", try ModelFixtures.qwenConfig()) }

    /// Batch of two with the second sample left-padded by 40 (its key mask zero there): its real
    /// positions equal its own unpadded pass, across chunks and the following decode steps.
    func testPaddedBatchAcrossChunks() throws {
        let config = try ModelFixtures.llamaConfig()
        let lm = try load("llama", config)
        let a = randomIds(100, vocab: config.vocabSize, seed: 12), b = randomIds(60, vocab: config.vocabSize, seed: 13)
        let pad = a.count - b.count, steps = 5
        let cache = lm.makeCache(batch: 2, maxLength: a.count + steps)
        var mask = [Float](repeating: 1, count: 2 * cache.maxLength)
        for j in 0..<pad { mask[cache.maxLength + j] = 0 }
        let prefill = noGrad { lm.logits(embeddings: lm.embed(a + Array(repeating: 0, count: pad) + b, batch: 2), cache: cache, keyMask: mask) }
        var rowsB: [Tensor] = [prefill.slice(axis: 0, 1..<2).slice(axis: 1, pad..<a.count)]
        let next = randomIds(steps, vocab: config.vocabSize, seed: 14)
        for id in next {
            let step = noGrad { lm.logits(embeddings: lm.embed([id, id], batch: 2), cache: cache, keyMask: mask) }
            rowsB.append(step.slice(axis: 0, 1..<2))
        }
        let single = noGrad { lm.logits(embeddings: lm.embed(b + next, batch: 1)) }
        XCTAssertLessThanOrEqual(ModelFixtures.maxAbsDiff(Tensor.concat(rowsB, axis: 1), single), tolerance)

        // The same batch through `.last` (batched generation's path): each row's last logits, then steps.
        let lastCache = lm.makeCache(batch: 2, maxLength: a.count + steps)  // fresh: no entries left from above
        var lastB = [noGrad { lm.logits(embeddings: lm.embed(a + Array(repeating: 0, count: pad) + b, batch: 2), cache: lastCache,
                                        keyMask: mask, positions: .last) }.slice(axis: 0, 1..<2)]
        for id in next {
            lastB.append(noGrad { lm.logits(embeddings: lm.embed([id, id], batch: 2), cache: lastCache, keyMask: mask, positions: .last) }
                .slice(axis: 0, 1..<2))
        }
        XCTAssertLessThanOrEqual(ModelFixtures.maxAbsDiff(Tensor.concat(lastB, axis: 1), single.slice(axis: 1, (b.count - 1)..<(b.count + steps))),
                                 tolerance, ".last prefill of a padded batch")
    }
}
