import Foundation

/// A decode batch that sequences join and leave between steps (continuous batching, for a server).
///
/// `add` queues a prompt; each `step()` admits queued sequences while fewer than `capacity` decode,
/// runs at most `prefillChunk` prompt tokens of the admitted sequences, oldest first (so a long
/// prompt is spread over several steps instead of stalling the others) as one packed forward,
/// draws one token for every sequence that has logits, and runs one batched decode step for all
/// that go on (both `LanguageModel.lastLogits(packed:counts:caches:)`). Every sequence has its
/// own KV cache, sampler, detokenizer and stop strings, and stops by
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

    /// One step: admit, prefill the next prompt chunks, draw a token for each ready sequence, decode the batch.
    public func step() -> [Event] {
        var events: [Event] = []
        while active.count < capacity, !waiting.isEmpty { active.append(waiting.removeFirst()) }
        prefill(&events)
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

    /// Runs the next chunk of every unfinished prompt as one packed forward
    /// (`LanguageModel.lastLogits(packed:counts:caches:)`). The chunks share one budget of
    /// `prefillChunk` tokens, in arrival order: requests that arrive together start together, and
    /// their prefills read the weights once instead of once each.
    private func prefill(_ events: inout [Event]) {
        var budget = prefillChunk
        var chunks: [(sequence: DecodingSequence, embeddings: Tensor, cache: KVCache, rows: Range<Int>)] = []
        for s in active where !s.prefillDone && budget > 0 {
            do {
                let (embeddings, cache) = try prepare(s)
                let end = min(s.promptIds.count, s.prefilled + budget)
                chunks.append((s, embeddings, cache, s.prefilled..<end))
                budget -= end - s.prefilled
            } catch {
                remove(s.slot)
                events.append(.failed(s.slot, error))
            }
        }
        guard !chunks.isEmpty else { return }
        let hidden = generator.config.language.hiddenSize
        let start = monotonicSeconds()
        let packed = Tensor.uninitialized([1, chunks.reduce(0) { $0 + $1.rows.count }, hidden])
        var row = 0
        for chunk in chunks {
            (packed.mutablePointer + row * hidden).update(from: chunk.embeddings.pointer + chunk.rows.lowerBound * hidden,
                                                          count: chunk.rows.count * hidden)
            row += chunk.rows.count
        }
        let language = generator.model.language
        let logits = noGrad {
            language.lastLogits(packed: packed, counts: chunks.map { $0.rows.count }, caches: chunks.map { $0.cache })
        }
        let seconds = monotonicSeconds() - start
        for (i, chunk) in chunks.enumerated() {
            let s = chunk.sequence
            s.stats.prefillSeconds += seconds  // each waited for the whole shared forward
            s.prefilled = chunk.rows.upperBound
            guard s.prefilled == s.promptIds.count else { continue }
            s.stats.prefillTokens = s.prefilled
            s.logits = (logits, i)
            s.embeddings = nil
            events.append(.started(s.slot, promptTokens: s.promptIds.count))
        }
    }

    /// The prompt embeddings (images spliced) and the cache of `s`, made when its prefill begins.
    private func prepare(_ s: DecodingSequence) throws -> (Tensor, KVCache) {
        if let embeddings = s.embeddings, let cache = s.cache { return (embeddings, cache) }
        let model = generator.model
        let features = try imageFeatures.features(for: s.images, generator: generator, stats: &s.stats)
        let embeddings = noGrad {
            model.embeddings(ids: s.promptIds, batch: 1, images: features,
                             imagesPerSample: features == nil ? [] : [Array(0..<s.images.count)])
        }
        let cache = model.language.makeCache(batch: 1, maxLength: min(contextLength, s.promptIds.count + max(s.options.maxNewTokens, 1)))
        s.embeddings = embeddings
        s.cache = cache
        return (embeddings, cache)
    }

    /// One batched decode step: each sequence's last token into its own cache.
    private func decode(_ sequences: [DecodingSequence]) {
        let language = generator.model.language
        let caches = sequences.compactMap(\.cache)
        precondition(caches.count == sequences.count, "ContinuousBatch: a decoding sequence has no cache")
        let logits = noGrad {
            language.logits(embeddings: language.embed(sequences.map(\.lastId), batch: sequences.count), caches: caches)
        }
        for (i, s) in sequences.enumerated() { s.logits = (logits, i) }
    }
}
