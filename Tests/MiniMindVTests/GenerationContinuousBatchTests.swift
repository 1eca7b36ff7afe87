import XCTest
@testable import MiniMindV

/// ContinuousBatch: sequences that join at different steps, with chunked prefills and their own
/// caches, give the ids of a single-sequence run — transformers' `generate` on the fixture models,
/// `Generator.generate` (itself checked against transformers) with images.
final class GenerationContinuousBatchTests: XCTestCase {
    /// Runs steps until `batch` is empty, collecting each slot's result.
    func drain(_ batch: ContinuousBatch, into results: inout [ContinuousBatch.Slot: GenerationResult], streamed: inout [ContinuousBatch.Slot: String]) {
        while batch.count > 0 { record(batch.step(), into: &results, streamed: &streamed) }
    }

    func record(_ events: [ContinuousBatch.Event], into results: inout [ContinuousBatch.Slot: GenerationResult],
                streamed: inout [ContinuousBatch.Slot: String]) {
        for event in events {
            switch event {
            case let .token(slot, _, text): streamed[slot, default: ""] += text
            case let .finished(slot, result): results[slot] = result
            case let .failed(slot, error): XCTFail("\(slot) failed: \(error)")
            case .started: break
            }
        }
    }

    func testJoiningSequencesEqualTransformersOnTheFixtureModels() throws {
        for (prefix, config) in [("llama", try ModelFixtures.llamaConfig()), ("qwen3", try ModelFixtures.qwenConfig())] {
            let lm = try MiniMindLM(config: config)
            try lm.loadStateDict(try Weights.tensors(try ModelFixtures.weights("\(prefix).safetensors")))
            let generator = try GenerationTestSupport.generator(around: lm)
            let ids = try ModelFixtures.ints("\(prefix)_ids.npy")
            let expected = try ModelFixtures.ints("\(prefix)_greedy.npy")
            let options = SamplingOptions(greedy: true, maxNewTokens: expected.count, eosTokenIds: [])
            // A prefill chunk shorter than the prompt: the prompt goes in over several steps.
            let batch = ContinuousBatch(generator: generator, capacity: 4, contextLength: 256, prefillChunk: 3)
            var results: [ContinuousBatch.Slot: GenerationResult] = [:], streamed: [ContinuousBatch.Slot: String] = [:]
            let first = try batch.add(ids: ids, options: options)
            for _ in 0..<(ids.count / 3 + 4) { record(batch.step(), into: &results, streamed: &streamed) }
            let second = try batch.add(ids: ids, options: options)  // joins while the first decodes
            let third = try batch.add(ids: Array(ids.prefix(5)), options: options)
            drain(batch, into: &results, streamed: &streamed)
            XCTAssertEqual(results[first]?.ids, expected, "\(prefix) first")
            XCTAssertEqual(results[second]?.ids, expected, "\(prefix) second")
            let alone = try generator.generate(GenerationPrompt(ids: Array(ids.prefix(5))), options: options)
            XCTAssertEqual(results[third]?.ids, alone.ids, "\(prefix) third")
            XCTAssertEqual(results[first]?.finishReason, .maxTokens)
            XCTAssertEqual(streamed[first], results[first]?.text)
        }
    }

    func testImagesStopStringsRemovalAndQueueing() throws {
        let generator = try GenerationTestSupport.tinyGenerator()
        let a = try GenerationTestSupport.picture(seed: 1), b = try GenerationTestSupport.picture(seed: 2)
        let questions: [(String, [PromptImage])] = [("<image>\nwhat is in this image", [.image(a)]), ("describe the picture please", []),
                                                 ("<image>\n<image>\nthe cat sat", [.image(b), .image(a)]), ("hello world", []),
                                                 ("<image>\nthe sky is blue", [.image(a)])]
        let options = SamplingOptions(greedy: true, maxNewTokens: 10)
        let prompts = try questions.map { try generator.chatPrompt($0.0, images: $0.1) }
        let expected = try prompts.map { try generator.generate($0, options: options) }

        // Capacity 2: the others wait and join as slots free up; one is withdrawn while waiting.
        let batch = ContinuousBatch(generator: generator, capacity: 2, contextLength: 200, prefillChunk: 7)
        let keys = questions.map(\.1)
        var slots: [ContinuousBatch.Slot] = []
        for (p, k) in zip(prompts, keys) { slots.append(try batch.add(ids: p.ids, images: k, options: options)) }
        let withdrawn = try batch.add(ids: prompts[1].ids, options: options)
        var results: [ContinuousBatch.Slot: GenerationResult] = [:], streamed: [ContinuousBatch.Slot: String] = [:]
        record(batch.step(), into: &results, streamed: &streamed)
        XCTAssertEqual(batch.activeCount, 2)
        XCTAssertTrue(batch.remove(withdrawn))
        XCTAssertFalse(batch.remove(withdrawn))
        drain(batch, into: &results, streamed: &streamed)
        XCTAssertNil(results[withdrawn])
        for (i, slot) in slots.enumerated() {
            XCTAssertEqual(results[slot]?.ids, expected[i].ids, "prompt \(i)")
            XCTAssertEqual(results[slot]?.text, expected[i].text, "prompt \(i)")
            XCTAssertEqual(streamed[slot], expected[i].text, "prompt \(i) streamed")
        }
        XCTAssertEqual(batch.imageFeatures.misses, 2, "a and b are encoded once each")
        XCTAssertEqual(batch.imageFeatures.hits, 2)

        // A stop string taken from an answer cuts it as Generator.generate does.
        let text = Array(expected[3].text)
        XCTAssertGreaterThan(text.count, 5, "the answer is long enough to hold a stop string")
        var stopping = options
        stopping.stopStrings = [String(text[3..<5])]
        let cut = try generator.generate(prompts[3], options: stopping)
        let slot = try batch.add(ids: prompts[3].ids, options: stopping)
        drain(batch, into: &results, streamed: &streamed)
        XCTAssertEqual(results[slot]?.text, cut.text)
        XCTAssertEqual(results[slot]?.finishReason, .stopString)

        XCTAssertThrowsError(try batch.add(ids: [Int](repeating: 5, count: 200), options: options)) { error in
            XCTAssertEqual(error as? GenerationError, .promptTooLong(tokens: 200, context: 200))
        }
    }

    /// The batched step over separate caches equals each row decoded alone (float rounding only).
    func testBatchedStepOverCachesEqualsSingleSteps() throws {
        let generator = try GenerationTestSupport.tinyGenerator()
        let lm = generator.model.language
        let prompts = [[5, 9, 30, 41], [7, 8], [60, 61, 62, 63, 64, 65]]
        let caches = prompts.map { _ in lm.makeCache(batch: 1, maxLength: 16) }
        let alone = prompts.map { _ in lm.makeCache(batch: 1, maxLength: 16) }
        for (i, p) in prompts.enumerated() {
            _ = lm.logits(embeddings: lm.embed(p, batch: 1), cache: caches[i], positions: .last)
            _ = lm.logits(embeddings: lm.embed(p, batch: 1), cache: alone[i], positions: .last)
        }
        let next = [11, 12, 13]
        let batched = lm.logits(embeddings: lm.embed(next, batch: 3), caches: caches)
        XCTAssertEqual(batched.shape, [3, lm.config.vocabSize])
        for i in 0..<3 {
            let single = lm.logits(embeddings: lm.embed([next[i]], batch: 1), cache: alone[i], positions: .last)
            for j in 0..<lm.config.vocabSize {
                XCTAssertEqual(batched.pointer[i * lm.config.vocabSize + j], single.pointer[j], accuracy: 1e-4)
            }
            XCTAssertEqual(caches[i].length, prompts[i].count + 1)
        }
    }

    /// The packed forward over ragged chunks (one sequence continuing a prompt) equals each sequence
    /// run alone: its last logits and everything it wrote into its cache (float rounding only).
    func testPackedForwardEqualsEachSequenceAlone() throws {
        for qkNorm in [false, true] {
            let lm = try MiniMindLM(config: GenerationTestSupport.tinyLanguageConfig(vocab: 300, qkNorm: qkNorm), seed: 5)
            let vocab = lm.config.vocabSize
            let earlier: [[Int]] = [[], [], [3, 4, 2, 1], []]
            let chunks = [[5, 9, 30, 41, 7], [7], [60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70], [100, 101, 102]]
            let packed = chunks.map { _ in lm.makeCache(batch: 1, maxLength: 32) }
            let alone = chunks.map { _ in lm.makeCache(batch: 1, maxLength: 32) }
            for (i, ids) in earlier.enumerated() where !ids.isEmpty {
                _ = lm.logits(embeddings: lm.embed(ids, batch: 1), cache: packed[i], positions: .last)
                _ = lm.logits(embeddings: lm.embed(ids, batch: 1), cache: alone[i], positions: .last)
            }
            let logits = lm.lastLogits(packed: lm.embed(chunks.flatMap { $0 }, batch: 1), counts: chunks.map(\.count), caches: packed)
            XCTAssertEqual(logits.shape, [chunks.count, vocab])
            let all = logits.toArray()
            for i in chunks.indices {
                let single = lm.logits(embeddings: lm.embed(chunks[i], batch: 1), cache: alone[i], positions: .last).toArray()
                let row = Array(all[(i * vocab)..<((i + 1) * vocab)])
                XCTAssertLessThan(zip(row, single).map { abs($0 - $1) }.max() ?? 1, 1e-4, "qkNorm \(qkNorm), sequence \(i) logits")
                XCTAssertEqual(packed[i].length, earlier[i].count + chunks[i].count)
                for layer in 0..<lm.config.numHiddenLayers {
                    for (a, b) in [(packed[i].keys[layer], alone[i].keys[layer]), (packed[i].values[layer], alone[i].values[layer])] {
                        XCTAssertLessThan(zip(a.toArray(), b.toArray()).map { abs($0 - $1) }.max() ?? 1, 1e-5,
                                          "qkNorm \(qkNorm), sequence \(i), layer \(layer) cache")
                    }
                }
            }
        }
    }

    /// Newcomers of different lengths (one with an image) admitted together are prefilled by one
    /// packed forward in the first step — or in ragged chunks over several steps — and each answer
    /// equals `Generator.generate` on that prompt alone (itself checked against transformers).
    func testNewcomersPrefilledTogetherEqualGeneratorAlone() throws {
        let generator = try GenerationTestSupport.tinyGenerator()
        let picture = try GenerationTestSupport.picture(seed: 3)
        let questions: [(String, [PromptImage])] = [("hello", []), ("<image>\nwhat is in this image", [.image(picture)]),
                                                 ("describe the picture please, the cat sat on the mat", []),
                                                 ("the sky is blue", []), ("a picture of a dog in the park", [])]
        let options = SamplingOptions(greedy: true, maxNewTokens: 12, eosTokenIds: [])
        let prompts = try questions.map { try generator.chatPrompt($0.0, images: $0.1) }
        XCTAssertEqual(Set(prompts.map(\.ids.count)).count, prompts.count, "the prompts differ in length")
        let expected = try prompts.map { try generator.generate($0, options: options) }
        for chunk in [4096, 9] {
          for prepared in [false, true] {
            let batch = ContinuousBatch(generator: generator, capacity: 8, contextLength: 200, prefillChunk: chunk)
            let slots = try zip(prompts, questions).map { try batch.add(ids: $0.ids, images: $1.1, options: options) }
            if prepared {
                // As a server gathering a burst does: the first step's prompts are prepared before it
                // (the image encoded here, not in the step); the steps must give the same answers.
                let before = batch.imageFeatures.count
                batch.prepareNext()
                XCTAssertEqual(batch.imageFeatures.count, before + (chunk == 4096 ? 1 : 0), "chunk \(chunk)")
            }
            var results: [ContinuousBatch.Slot: GenerationResult] = [:], streamed: [ContinuousBatch.Slot: String] = [:]
            let first = batch.step()
            let started = first.compactMap { event -> ContinuousBatch.Slot? in
                if case let .started(slot, _) = event { return slot } else { return nil }
            }
            if chunk == 4096 { XCTAssertEqual(started, slots, "every prompt is in after the first step") }
            record(first, into: &results, streamed: &streamed)
            drain(batch, into: &results, streamed: &streamed)
            for (i, slot) in slots.enumerated() {
                XCTAssertEqual(results[slot]?.ids, expected[i].ids, "prompt \(i), chunk \(chunk), prepared \(prepared)")
                XCTAssertEqual(streamed[slot], expected[i].text, "prompt \(i), chunk \(chunk), prepared \(prepared)")
            }
          }
        }
    }

    /// Sequences that leave hand their KV caches to newcomers (zeroed; the same size up to twice it):
    /// the newcomers' answers equal `Generator.generate` on each prompt alone, with reuse and without.
    func testNewcomersReuseTheCachesOfSequencesThatLeft() throws {
        let generator = try GenerationTestSupport.tinyGenerator()
        let options = SamplingOptions(greedy: true, maxNewTokens: 10, eosTokenIds: [])
        let prompts = try ["describe the picture please", "the cat sat on the mat", "hello",
                       "a dog in the park, running fast past the cat on the mat; describe the picture please"]
            .map { try generator.chatPrompt($0) }
        let expected = try prompts.map { try generator.generate($0, options: options) }
        for keep in [64 << 20, 0] {
            let batch = ContinuousBatch(generator: generator, capacity: 2, contextLength: 200)
            batch.spareCacheBytes = keep
            var results: [ContinuousBatch.Slot: GenerationResult] = [:], streamed: [ContinuousBatch.Slot: String] = [:]
            let first = try prompts.prefix(2).map { try batch.add(ids: $0.ids, options: options) }
            drain(batch, into: &results, streamed: &streamed)
            XCTAssertEqual(batch.spareCacheCount, keep > 0 ? 2 : 0, "the two that finished left their caches")
            for cache in batch.spareCaches {  // nothing of the requests that used them stays for the next
                XCTAssertEqual(cache.length, 0)
                XCTAssertTrue((cache.keys + cache.values).allSatisfy { $0.toArray().allSatisfy { $0 == 0 } }, "a kept cache is zeroed")
            }
            XCTAssertGreaterThan(prompts[3].ids.count, max(prompts[0].ids.count, prompts[1].ids.count))
            XCTAssertLessThan(prompts[2].ids.count, min(prompts[0].ids.count, prompts[1].ids.count))
            let second = try prompts.suffix(2).map { try batch.add(ids: $0.ids, options: options) }
            batch.prepareNext()
            // "hello" is shorter than either first prompt and fits a kept cache; the last prompt is longer than both.
            XCTAssertEqual(batch.spareCacheCount, keep > 0 ? 1 : 0, "one newcomer took a kept cache")
            drain(batch, into: &results, streamed: &streamed)
            for (i, slot) in (first + second).enumerated() {
                XCTAssertEqual(results[slot]?.ids, expected[i].ids, "prompt \(i), keep \(keep)")
                XCTAssertEqual(streamed[slot], expected[i].text, "prompt \(i), keep \(keep)")
            }
        }
    }
}
