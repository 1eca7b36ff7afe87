import Foundation

/// A decode batch that sequences join and leave between steps (continuous batching, for a server).
///
/// `add` queues a prompt; each `step()` admits queued sequences while fewer than `capacity` decode,
/// runs at most `prefillChunk` prompt tokens of the admitted sequences, oldest first (so a long
/// prompt is spread over several steps instead of stalling the others), draws one token for every sequence that has
/// logits, and runs one batched decode step (`MiniMindLM.logits(embeddings:caches:)`) for all that
/// go on. Every sequence has its own KV cache, sampler, detokenizer and stop strings, and stops by
/// `Generator.generate`'s rules; `remove` drops a sequence (a client that left) before the next step.
/// Projected image features are shared through `imageFeatures` (keyed by image content).
///
/// Not thread-safe: one owner calls `add`, `remove` and `step`.
public final class ContinuousBatch {
    public struct Slot: Hashable, Sendable, CustomStringConvertible {
        public let id: Int
        public var description: String { "slot \(id)" }
    }

    public enum Event {
        /// The sequence's prompt is in its cache; tokens follow.
        case started(Slot, promptTokens: Int)
        /// A token (nil: text held back until the end) and the text it completes.
        case token(Slot, id: Int?, text: String)
        case finished(Slot, GenerationResult)
        /// The sequence could not run (e.g. its images failed to encode); it is gone.
        case failed(Slot, Error)
    }

    public let generator: Generator
    /// Most sequences decoding together.
    public let capacity: Int
    /// Tokens one sequence's cache holds (prompt + answer), at most the model's positions.
    public let contextLength: Int
    /// Most prompt tokens prefilled per step.
    public var prefillChunk: Int
    public let imageFeatures: ImageFeatureCache

    private var waiting: [DecodingSequence] = []
    private var active: [DecodingSequence] = []
    private var nextSlot = 0

    public init(generator: Generator, capacity: Int, contextLength: Int, prefillChunk: Int = 256,
                imageFeatures: ImageFeatureCache = ImageFeatureCache()) {
        precondition(capacity > 0 && prefillChunk > 0, "ContinuousBatch: capacity and prefillChunk must be positive")
        self.generator = generator
        self.capacity = capacity
        self.contextLength = min(max(contextLength, 2), generator.config.language.maxPositionEmbeddings)
        self.prefillChunk = prefillChunk
        self.imageFeatures = imageFeatures
    }

    /// Sequences queued or running.
    public var count: Int { waiting.count + active.count }
    public var waitingCount: Int { waiting.count }
    public var activeCount: Int { active.count }
    /// Bytes of the KV caches now allocated.
    public var cacheBytes: Int { active.reduce(0) { $0 + ($1.cache?.byteCount ?? 0) } }

    /// Throws what `add` would throw for this prompt (a `GenerationError`), without adding it.
    public func check(ids: [Int], images: [PromptImage], options: SamplingOptions) throws {
        try options.validate()
        try generator.validate(GenerationPrompt(ids: ids, images: images))
        guard ids.count < contextLength else { throw GenerationError.promptTooLong(tokens: ids.count, context: contextLength) }
    }

    /// Queues a tokenised prompt (image placeholder runs already expanded, one per image).
    @discardableResult
    public func add(ids: [Int], images: [PromptImage] = [], options: SamplingOptions) throws -> Slot {
        try check(ids: ids, images: images, options: options)
        let slot = Slot(id: nextSlot)
        nextSlot += 1
        waiting.append(DecodingSequence(slot: slot, ids: ids, images: images, options: options, generator: generator))
        return slot
    }

    /// Drops a sequence wherever it is (its cache is released); false if it is not here.
    @discardableResult
    public func remove(_ slot: Slot) -> Bool {
        if let i = waiting.firstIndex(where: { $0.slot == slot }) { waiting.remove(at: i); return true }
        if let i = active.firstIndex(where: { $0.slot == slot }) { active.remove(at: i); return true }
        return false
    }

    /// One step: admit, prefill one chunk, draw a token for each ready sequence, decode the batch.
    public func step() -> [Event] {
        var events: [Event] = []
        while active.count < capacity, !waiting.isEmpty { active.append(waiting.removeFirst()) }
        // Prompts share one budget of `prefillChunk` tokens per step, in arrival order: requests
        // that arrive together start together instead of one per decode step.
        var budget = prefillChunk
        for s in active where !s.prefillDone && budget > 0 {
            do {
                let before = s.prefilled
                if try prefillChunk(s, maxTokens: budget) { events.append(.started(s.slot, promptTokens: s.promptIds.count)) }
                budget -= s.prefilled - before
            } catch {
                remove(s.slot)
                events.append(.failed(s.slot, error))
            }
        }
        var feed: [DecodingSequence] = []
        for s in active where s.logits != nil {
            let (id, text) = s.advance()
            events.append(.token(s.slot, id: id, text: text))
            guard s.reason != nil else { feed.append(s); continue }
            let tail = s.flush()
            if !tail.isEmpty { events.append(.token(s.slot, id: nil, text: tail)) }
            events.append(.finished(s.slot, s.result()))
            remove(s.slot)
        }
        if !feed.isEmpty { decode(feed) }
        return events
    }

    /// Runs the next (at most `maxTokens`) of `s`'s prompt; true when the whole prompt is in (its logits are set).
    private func prefillChunk(_ s: DecodingSequence, maxTokens: Int) throws -> Bool {
        let model = generator.model
        if s.cache == nil {
            let features = try imageFeatures.features(for: s.images, generator: generator, stats: &s.stats)
            s.embeddings = noGrad {
                model.embeddings(ids: s.promptIds, batch: 1, images: features,
                                 imagesPerSample: features == nil ? [] : [Array(0..<s.images.count)])
            }
            s.cache = model.language.makeCache(batch: 1, maxLength: min(contextLength, s.promptIds.count + max(s.options.maxNewTokens, 1)))
        }
        guard let embeddings = s.embeddings, let cache = s.cache else { return false }
        let start = monotonicSeconds()
        let end = min(s.promptIds.count, s.prefilled + maxTokens)
        let logits = noGrad {
            model.language.logits(embeddings: embeddings.slice(axis: 1, s.prefilled..<end), cache: cache, keyMask: nil, positions: .last)
        }
        s.stats.prefillSeconds += monotonicSeconds() - start
        s.prefilled = end
        guard end == s.promptIds.count else { return false }
        s.stats.prefillTokens = end
        s.logits = Array(UnsafeBufferPointer(start: logits.pointer, count: generator.config.language.vocabSize))
        s.embeddings = nil
        return true
    }

    /// One batched decode step: each sequence's last token into its own cache.
    private func decode(_ sequences: [DecodingSequence]) {
        let language = generator.model.language
        let vocab = generator.config.language.vocabSize
        let caches = sequences.compactMap(\.cache)
        precondition(caches.count == sequences.count, "ContinuousBatch: a decoding sequence has no cache")
        let logits = noGrad {
            language.logits(embeddings: language.embed(sequences.map(\.lastId), batch: sequences.count), caches: caches)
        }
        for (i, s) in sequences.enumerated() {
            s.logits = Array(UnsafeBufferPointer(start: logits.pointer + i * vocab, count: vocab))
        }
    }
}
