import XCTest
import MiniMindTokenizer
@testable import MiniMindV

/// PrefixCache in a ContinuousBatch: requests that begin alike copy the earlier request's keys and
/// values and prefill only the rest; their answers equal `Generator.generate` on each prompt alone
/// (itself checked against transformers), pictures and system prompts that differ are never shared,
/// and the cache stays within its bound.
final class GenerationPrefixCacheTests: XCTestCase {
    private func run(_ batch: ContinuousBatch, _ requests: [(GenerationPrompt, SamplingOptions)]) throws -> [GenerationResult] {
        let slots = try requests.map { try batch.add(ids: $0.0.ids, images: $0.0.images, options: $0.1) }
        var results: [ContinuousBatch.Slot: GenerationResult] = [:]
        while batch.count > 0 {
            for event in batch.step() {
                if case let .finished(slot, result) = event { results[slot] = result }
                if case let .failed(slot, error) = event { XCTFail("\(slot) failed: \(error)") }
            }
        }
        return try slots.map { try XCTUnwrap(results[$0]) }
    }

    func testAnswersWithTheCacheEqualAnswersWithout() throws {
        let generator = try GenerationTestSupport.tinyGenerator()
        let a = PromptImage.image(try GenerationTestSupport.picture(seed: 1))
        let b = PromptImage.image(try GenerationTestSupport.picture(seed: 2))
        let options = SamplingOptions(greedy: true, maxNewTokens: 10, eosTokenIds: [])
        let first = try generator.chatPrompt("what is in this image", images: [a])
        let firstAnswer = try generator.generate(first, options: options)
        // A follow-up turn of the first chat: it begins with the first prompt and its answer.
        let followUp = try generator.assembler.assemble([.user("<image>\nwhat is in this image"), .assistant(firstAnswer.text),
                                                         .user("the sky is blue")], images: [a])
        let prompts: [(name: String, prompt: GenerationPrompt)] = [
            ("first", first),
            ("same words, another picture", try generator.chatPrompt("what is in this image", images: [b])),
            ("text after the system turn", try generator.chatPrompt("describe the picture please")),
            ("another text question", try generator.chatPrompt("the cat sat on the mat")),
            ("another system prompt", try generator.chatPrompt("the cat sat on the mat", system: "hello world")),
            ("a system prompt that begins alike", try generator.chatPrompt("the cat sat on the mat", system: "hello world, the sky")),
            ("the same prompt again", first),
            ("follow-up turn", followUp),
        ]
        let expected = try prompts.map { try generator.generate($0.prompt, options: options) }
        XCTAssertNotEqual(expected[0].ids, expected[1].ids, "the pictures change the answer (so sharing one would show)")
        XCTAssertNotEqual(expected[3].ids, expected[4].ids, "the system prompt changes the answer")

        for (chunk, together) in [(4096, false), (5, false), (4096, true)] {
            let cache = PrefixCache(tokenLimit: 4096)
            let batch = ContinuousBatch(generator: generator, capacity: 4, contextLength: 300, prefillChunk: chunk, prefixCache: cache)
            let off = PrefixCache(tokenLimit: 0)  // a bound of 0 holds nothing: the same batch without reuse
            let plain = ContinuousBatch(generator: generator, capacity: 4, contextLength: 300, prefillChunk: chunk, prefixCache: off)
            // One at a time (each finds the earlier ones cached), or all at once after the first.
            var results = [try run(batch, [(prompts[0].prompt, options)])[0]]
            if together {
                results += try run(batch, prompts.dropFirst().map { ($0.prompt, options) })
            } else {
                for p in prompts.dropFirst() { results += try run(batch, [(p.prompt, options)]) }
            }
            let without = try run(plain, prompts.map { ($0.prompt, options) })
            for (i, p) in prompts.enumerated() {
                let label = "\(p.name), chunk \(chunk)\(together ? ", together" : "")"
                XCTAssertEqual(results[i].ids, expected[i].ids, label)
                XCTAssertEqual(without[i].ids, expected[i].ids, label + ", cache off")
                XCTAssertEqual(without[i].stats.cachedPromptTokens, 0, label + ", cache off")
                XCTAssertEqual(results[i].stats.prefillTokens + results[i].stats.cachedPromptTokens, p.prompt.ids.count, label)
            }
            let probe = try generator.chatPrompt("x").ids, imStart = try XCTUnwrap(generator.tokenizer.tokenToId("<|im_start|>"))
            let systemTurn = probe.indices.filter { probe[$0] == imStart }[1]  // where the user turn begins
            let reused = results.map(\.stats.cachedPromptTokens)
            XCTAssertEqual(reused[0], 0, "nothing cached yet")
            // Only the rows before the other picture's placeholders are shared.
            XCTAssertEqual(reused[1], prompts[1].prompt.imageSlots[0].lowerBound)
            XCTAssertGreaterThan(reused[2], systemTurn, "the system turn and the user turn's start")
            XCTAssertLessThan(reused[4], reused[3], "another system prompt shares less")
            XCTAssertEqual(reused[6], first.ids.count - 1, "the same prompt: all but the last token")
            // The follow-up: the first prompt and the answer ids its cache holds (all but the last).
            let conversation = first.ids + firstAnswer.ids.dropLast()
            let common = zip(conversation, followUp.ids).prefix { $0 == $1 }.count
            XCTAssertGreaterThan(common, first.ids.count, "the re-rendered answer begins with the generated ids")
            XCTAssertEqual(reused[7], min(common, followUp.ids.count - 1), "the follow-up reuses the first turn and its answer")
            XCTAssertLessThanOrEqual(cache.tokens, cache.tokenLimit)
            XCTAssertEqual(off.count, 0)
        }
    }

    /// A cold burst of prompts with one system turn: the first is prefilled alone and the others one
    /// step later, copying the turn it stored (computed once, not once each); with the minimum out of
    /// reach every prompt starts in the first step and computes the turn itself. The answers equal
    /// `Generator.generate` on each prompt alone either way.
    func testABurstComputesItsSharedSystemTurnOnce() throws {
        let generator = try GenerationTestSupport.tinyGenerator()
        let options = SamplingOptions(greedy: true, maxNewTokens: 6, eosTokenIds: [])
        let prompts = try ["describe the picture please", "the cat sat on the mat", "hello world, the sky is blue", "a dog in the park"]
            .map { try generator.chatPrompt($0) }
        let expected = try prompts.map { try generator.generate($0, options: options) }
        let probe = try generator.chatPrompt("x").ids, imStart = try XCTUnwrap(generator.tokenizer.tokenToId("<|im_start|>"))
        let systemTurn = probe.indices.filter { probe[$0] == imStart }[1]  // where the user turn begins
        XCTAssertGreaterThan(systemTurn, 4)
        for minimum in [systemTurn, 10_000] {
          for prepared in [false, true] {
            let cache = PrefixCache(tokenLimit: 4096)
            let batch = ContinuousBatch(generator: generator, capacity: 8, contextLength: 300, prefixCache: cache)
            batch.sharedPrefixMinimum = minimum
            // `prepared`: as a server gathering a burst does, the prompts are prepared as they arrive
            // (ContinuousBatch.prepareNext); the steps must run exactly as without.
            let slots = try prompts.map { prompt -> ContinuousBatch.Slot in
                let slot = try batch.add(ids: prompt.ids, options: options)
                if prepared { batch.prepareNext() }
                return slot
            }
            if prepared {
                // Each prepared prompt looked the cache up once; the ones that wait for the first
                // prompt's system turn were left alone.
                XCTAssertEqual(cache.hits + cache.misses, minimum == systemTurn ? 1 : prompts.count, "minimum \(minimum)")
            }
            var startedAt: [ContinuousBatch.Slot: Int] = [:], results: [ContinuousBatch.Slot: GenerationResult] = [:]
            var step = 0
            while batch.count > 0 {
                step += 1
                for event in batch.step() {
                    if case let .started(slot, _) = event { startedAt[slot] = step }
                    if case let .finished(slot, result) = event { results[slot] = result }
                    if case let .failed(slot, error) = event { XCTFail("\(slot) failed: \(error)") }
                }
            }
            let shares = minimum == systemTurn
            for (i, slot) in slots.enumerated() {
                let label = "prompt \(i), minimum \(minimum), prepared \(prepared)"
                XCTAssertEqual(results[slot]?.ids, expected[i].ids, label)
                XCTAssertEqual(startedAt[slot], shares && i > 0 ? 2 : 1, label)
                let cached = try XCTUnwrap(results[slot]).stats.cachedPromptTokens
                if shares && i > 0 { XCTAssertGreaterThan(cached, systemTurn, label) } else { XCTAssertEqual(cached, 0, label) }
            }
            XCTAssertEqual(cache.hits + cache.misses, prompts.count, "one lookup per prompt, prepared \(prepared)")
          }
        }
    }

    /// The rows copied from the cache equal the rows the request computes itself.
    func testRestoredRowsEqualComputedOnes() throws {
        let lm = try MiniMindLM(config: GenerationTestSupport.tinyLanguageConfig(vocab: 300, qkNorm: true), seed: 3)
        let donorIds = [5, 9, 30, 41, 7, 8, 60, 61], ids = [5, 9, 30, 41, 7, 100, 101]
        let donor = lm.makeCache(batch: 1, maxLength: 20), own = lm.makeCache(batch: 1, maxLength: 20)
        _ = lm.logits(embeddings: lm.embed(donorIds, batch: 1), cache: donor, positions: .last)
        let ownLogits = lm.logits(embeddings: lm.embed(ids, batch: 1), cache: own, positions: .last).toArray()
        let cache = PrefixCache(tokenLimit: 100)
        cache.insert(PrefixCache.Key(ids: donorIds), from: donor, length: donorIds.count)
        let reused = lm.makeCache(batch: 1, maxLength: 20)
        XCTAssertEqual(cache.restore(PrefixCache.Key(ids: ids), into: reused, limit: ids.count - 1), 5)
        let logits = lm.logits(embeddings: lm.embed(Array(ids[5...]), batch: 1), cache: reused, positions: .last).toArray()
        XCTAssertLessThan(zip(logits, ownLogits).map { abs($0 - $1) }.max() ?? 1, 1e-4)
        XCTAssertEqual(reused.length, ids.count)
        for layer in 0..<lm.config.numHiddenLayers {
            for (x, y) in [(reused.keys[layer], own.keys[layer]), (reused.values[layer], own.values[layer])] {
                XCTAssertLessThan(zip(x.toArray(), y.toArray()).map { abs($0 - $1) }.max() ?? 1, 1e-5, "layer \(layer)")
            }
        }
    }

    func testKeysShareOnlyEqualIdsAndPictures() {
        typealias Key = PrefixCache.Key
        let ids = [1, 2, 9, 9, 9, 3, 4]
        let run = 2..<5
        XCTAssertEqual(Key(ids: ids, images: [(run, 7)]).shared(with: Key(ids: ids, images: [(run, 7)])), 7)
        XCTAssertEqual(Key(ids: ids, images: [(run, 7)]).shared(with: Key(ids: ids, images: [(run, 8)])), 2, "another picture")
        XCTAssertEqual(Key(ids: ids, images: [(run, nil)]).shared(with: Key(ids: ids, images: [(run, nil)])), 2, "unkeyed")
        XCTAssertEqual(Key(ids: ids, images: [(run, 7)]).shared(with: Key(ids: ids)), 2, "a run on one side only")
        XCTAssertEqual(Key(ids: ids, images: [(run, 7)]).shared(with: Key(ids: [1, 2, 9, 5], images: [(2..<3, 8)])), 2)
        XCTAssertEqual(Key(ids: ids, images: [(run, 7)]).shared(with: Key(ids: [1, 2, 9, 9, 5], images: [(2..<4, 7)])), 4)
        XCTAssertEqual(Key(ids: [1, 2, 3]).shared(with: Key(ids: [1, 2, 4])), 2)
        XCTAssertEqual(Key(ids: [1, 2]).shared(with: Key(ids: [3])), 0)
        XCTAssertEqual(Key(ids: ids, images: [(run, nil)]).prefix(6).ids, [1, 2], "stored only up to an unkeyed picture")
    }

    /// At most `tokenLimit` positions are held, the least recently used go first, and an entry that
    /// a longer one extends is dropped.
    func testTheCacheIsBounded() throws {
        let lm = try MiniMindLM(config: GenerationTestSupport.tinyLanguageConfig(vocab: 300), seed: 3)
        let bytesPerToken = lm.config.numHiddenLayers * 2 * lm.config.numKeyValueHeads * lm.config.headDim * 4
        func filled(_ ids: [Int]) -> KVCache {
            let c = lm.makeCache(batch: 1, maxLength: 64)
            _ = lm.logits(embeddings: lm.embed(ids, batch: 1), cache: c, positions: .last)
            return c
        }
        let cache = PrefixCache(tokenLimit: 30)
        let prompts = (0..<6).map { i in [1, 2, 3] + [Int](repeating: 10 + i, count: 7) }  // 10 tokens each
        for p in prompts.prefix(3) { cache.insert(PrefixCache.Key(ids: p), from: filled(p), length: p.count) }
        XCTAssertEqual(cache.tokens, 30)
        XCTAssertEqual(cache.byteCount, 30 * bytesPerToken)
        let probe = lm.makeCache(batch: 1, maxLength: 64)
        XCTAssertEqual(cache.restore(PrefixCache.Key(ids: prompts[0] + [50]), into: probe, limit: 100), 10)  // prompt 0 used last
        cache.insert(PrefixCache.Key(ids: prompts[3]), from: filled(prompts[3]), length: 10)
        XCTAssertEqual(cache.tokens, 30)
        XCTAssertEqual(cache.count, 3)
        for (i, kept) in [(0, 10), (1, 3), (2, 10), (3, 10)] {
            let c = lm.makeCache(batch: 1, maxLength: 64)
            XCTAssertEqual(cache.restore(PrefixCache.Key(ids: prompts[i] + [50]), into: c, limit: 100), kept, "prompt \(i)")
        }
        // A longer prompt replaces the entry it extends; one longer than the bound keeps its first 30.
        let longer = prompts[3] + [60, 61, 62]
        cache.insert(PrefixCache.Key(ids: longer), from: filled(longer), length: longer.count)
        XCTAssertLessThanOrEqual(cache.tokens, 30)
        XCTAssertFalse(cache.count > 3)
        let long = [Int](1...40)
        cache.insert(PrefixCache.Key(ids: long), from: filled(long), length: 40)
        XCTAssertEqual(cache.tokens, 30)
        XCTAssertEqual(cache.count, 1)
        XCTAssertEqual(cache.byteCount, 30 * bytesPerToken)
        let c = lm.makeCache(batch: 1, maxLength: 64)
        XCTAssertEqual(cache.restore(PrefixCache.Key(ids: long), into: c, limit: 39), 30)
    }
}
