import Foundation

/// A decode batch that sequences join and leave between steps (continuous batching, for a server).
///
/// `add` queues a prompt; each `step()` admits queued sequences while fewer than `capacity` decode,
/// runs one packed forward (`LanguageModel.lastLogits(packed:counts:caches:)`) of the tokens drawn
/// in the previous step and at most `prefillChunk` prompt tokens of the admitted sequences, oldest
/// first (so a long prompt is spread over several steps instead of stalling the others), and draws
/// one token for every sequence that has logits (returned at once; it enters the cache in the next
/// step's forward). Every sequence has its
/// own KV cache, sampler, detokenizer and stop strings, and stops by
/// `Generator.generate`'s rules; `remove` drops a sequence (a client that left) before the next step.
/// Projected image features are shared through `imageFeatures` (keyed by image content), and with a
/// `prefixCache` a prompt that begins like an earlier one (the chat template's system turn, an
/// earlier turn of the same chat) copies those positions' keys and values and prefills only the rest;
/// every prompt is stored there when its prefill ends, and with its answer when it finishes. A
/// newcomer that begins like a prompt whose prefill ends in the same step — for at least
/// `sharedPrefixMinimum` positions more than the cache holds — begins one step later and copies
/// them (a cold burst of prompts with one system turn computes that turn once, not once each).
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
    /// Fewest positions a newcomer must gain by waiting one step for a prompt it begins like (one
    /// step costs about one pass over the weights; each position saved is a prefill row less).
    public var sharedPrefixMinimum = 16
    public let imageFeatures: ImageFeatureCache
    /// Keys and values of earlier prompts' prefixes (nil: every prompt is prefilled whole).
    public let prefixCache: PrefixCache?

    /// Most bytes of KV caches kept from sequences that left, for newcomers to reuse (0: none kept).
    /// A fresh cache's pages are faulted in and zeroed by the kernel on first touch (for a short chat
    /// on minimind2-small-v about 200 faults a request, a few tenths of a millisecond each on a
    /// loaded machine); a kept one was zeroed by `memset` over pages already mapped when it was left.
    public var spareCacheBytes = 64 << 20
    private(set) var spareCaches: [KVCache] = []
    /// Caches kept for newcomers now.
    public var spareCacheCount: Int { spareCaches.count }

    private var waiting: [DecodingSequence] = []
    private var active: [DecodingSequence] = []
    /// Running sequences whose last drawn token is not yet in their cache (it goes into the next forward).
    private var drawn: [DecodingSequence] = []
    private var nextSlot = 0

    public init(generator: Generator, capacity: Int, contextLength: Int, prefillChunk: Int = 256,
                imageFeatures: ImageFeatureCache = ImageFeatureCache(), prefixCache: PrefixCache? = nil) {
        precondition(capacity > 0 && prefillChunk > 0, "ContinuousBatch: capacity and prefillChunk must be positive")
        self.generator = generator
        self.capacity = capacity
        self.contextLength = min(max(contextLength, 2), generator.config.language.maxPositionEmbeddings)
        self.prefillChunk = prefillChunk
        self.imageFeatures = imageFeatures
        self.prefixCache = prefixCache
    }

    /// Sequences queued or running.
    public var count: Int { waiting.count + active.count }
    public var waitingCount: Int { waiting.count }
    public var activeCount: Int { active.count }
    /// Bytes of the running sequences' KV caches (without the kept spares).
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
        if let i = waiting.firstIndex(where: { $0.slot == slot }) { recycle(waiting.remove(at: i)); return true }
        if let i = active.firstIndex(where: { $0.slot == slot }) {
            recycle(active.remove(at: i))
            drawn.removeAll { $0.slot == slot }
            return true
        }
        return false
    }

    /// Keeps the cache of `s`, which has left, for a newcomer (within `spareCacheBytes`), zeroed now:
    /// nothing of its request stays, not even past `length`, and a newcomer's prefill (its time to
    /// first token) does not wait for the zeroing.
    private func recycle(_ s: DecodingSequence) {
        guard let cache = s.cache else { return }
        s.cache = nil
        s.embeddings = nil
        let held = spareCaches.reduce(0) { $0 + $1.byteCount }
        guard held + cache.byteCount <= spareCacheBytes && spareCaches.count < capacity else { return }
        cache.clear()
        spareCaches.append(cache)
    }

    /// An empty, zeroed cache for `maxLength` tokens: a kept one of that size up to twice it (the
    /// smallest), else a new one. A larger cache changes no answer: `maxLength` is the prompt plus its
    /// token budget, so the budget ends the answer first, unless the context clipped it, and then only
    /// a cache of exactly `contextLength` (the largest there is) fits.
    private func emptyCache(maxLength: Int) -> KVCache {
        let fits = spareCaches.indices.filter { spareCaches[$0].maxLength >= maxLength && spareCaches[$0].maxLength <= 2 * maxLength }
        guard let best = fits.min(by: { spareCaches[$0].maxLength < spareCaches[$1].maxLength }) else {
            return generator.model.language.makeCache(batch: 1, maxLength: maxLength)
        }
        return spareCaches.remove(at: best)
    }

    /// One step: admit, run one forward (the tokens drawn last step and the next prompt chunks),
    /// draw a token for each ready sequence. The drawn tokens are returned at once and go into the
    /// next step's forward, so a client sees its token one forward earlier.
    public func step() -> [Event] {
        var events: [Event] = []
        while active.count < capacity, !waiting.isEmpty { active.append(waiting.removeFirst()) }
        forward(&events)
        for s in active where s.logits != nil {
            let (id, text) = s.advance()
            events.append(.token(s.slot, id: id, text: text))
            guard s.reason != nil else { drawn.append(s); continue }
            let tail = s.flush()
            if !tail.isEmpty { events.append(.token(s.slot, id: nil, text: tail)) }
            remember(s, answer: true)
            events.append(.finished(s.slot, s.result()))
            remove(s.slot)
        }
        return events
    }

    /// One packed forward (`LanguageModel.lastLogits(packed:counts:caches:)`): first the token each
    /// sequence drew last step, then the next chunk of every unfinished prompt. The chunks share one
    /// budget of `prefillChunk` tokens, in arrival order: requests that arrive together start
    /// together. Decode and prefill rows share the forward, so every weight is read once per step.
    private func forward(_ events: inout [Event]) {
        let decoding = drawn
        drawn = []
        var chunks: [(sequence: DecodingSequence, embeddings: Tensor, cache: KVCache, rows: Range<Int>)] = []
        for (s, result) in planPrefill(active) {
            switch result {
            case let .success((embeddings, cache, rows)): chunks.append((s, embeddings, cache, rows))
            case let .failure(error):
                remove(s.slot)
                events.append(.failed(s.slot, error))
            }
        }
        guard !decoding.isEmpty || !chunks.isEmpty else { return }
        let language = generator.model.language, hidden = generator.config.language.hiddenSize
        let start = monotonicSeconds()
        let d = decoding.count
        ServeTrace.mark("forward decode=\(d) chunks=\(chunks.map(\.rows.count))")
        defer { ServeTrace.mark("forward end") }
        let packed = Tensor.uninitialized([1, d + chunks.reduce(0) { $0 + $1.rows.count }, hidden])
        if d > 0 {
            let tokens = language.embed(decoding.map(\.lastId), batch: 1)
            packed.mutablePointer.update(from: tokens.pointer, count: d * hidden)
        }
        var row = d
        for chunk in chunks {
            (packed.mutablePointer + row * hidden).update(from: chunk.embeddings.pointer + chunk.rows.lowerBound * hidden,
                                                          count: chunk.rows.count * hidden)
            row += chunk.rows.count
        }
        let caches = decoding.compactMap(\.cache) + chunks.map(\.cache)
        precondition(caches.count == d + chunks.count, "ContinuousBatch: a decoding sequence has no cache")
        let logits = noGrad {
            language.lastLogits(packed: packed, counts: [Int](repeating: 1, count: d) + chunks.map(\.rows.count), caches: caches)
        }
        for (i, s) in decoding.enumerated() { s.logits = (logits, i) }
        guard !chunks.isEmpty else { return }
        let seconds = monotonicSeconds() - start
        for (i, chunk) in chunks.enumerated() {
            let s = chunk.sequence
            s.stats.prefillSeconds += seconds  // each waited for the whole shared forward
            s.prefilled = chunk.rows.upperBound
            guard s.prefilled == s.promptIds.count else { continue }
            s.stats.prefillTokens = s.prefilled - s.stats.cachedPromptTokens
            remember(s, answer: false)
            s.logits = (logits, d + i)
            s.embeddings = nil
            events.append(.started(s.slot, promptTokens: s.promptIds.count))
        }
    }

    /// Prepares now what the next `step()` would prepare before its forward for the prompts it will
    /// prefill: their embeddings (images encoded, or taken from `imageFeatures`), their KV caches, and
    /// the prefix copies from `prefixCache`. The step then finds them ready, so a caller that waits
    /// anyway before stepping (a server gathering a burst of requests) takes that work off the time to
    /// first token. The next step runs exactly as it would have: the same prompts and chunks, the same
    /// positions copied (only a step stores prefixes), and a prompt that waits a step for another's
    /// prefix (`sharedPrefixMinimum`) is left alone. A prompt that fails (e.g. an undecodable image) is
    /// left for the step, which reports it.
    public func prepareNext() {
        _ = planPrefill(active + waiting.prefix(max(capacity - active.count, 0)))
    }

    /// The prompt chunks one forward of `candidates` (the running sequences, in arrival order) prefills:
    /// `prefillChunk` tokens in all, oldest first, skipping prompts that wait for another's prefix;
    /// each prepared (embeddings, cache, prefix copy), or the error that stopped it.
    private func planPrefill(_ candidates: [DecodingSequence])
        -> [(DecodingSequence, Result<(Tensor, KVCache, Range<Int>), Error>)] {
        var budget = prefillChunk
        var plan: [(DecodingSequence, Result<(Tensor, KVCache, Range<Int>), Error>)] = []
        var leaders: [PrefixCache.Key] = []  // prompts whose prefill ends in this forward (then stored in the prefix cache)
        for s in candidates where !s.prefillDone && budget > 0 {
            do {
                if try waitsForLeader(s, leaders) { continue }
                let (embeddings, cache) = try prepare(s)
                let end = min(s.promptIds.count, s.prefilled + budget)
                plan.append((s, .success((embeddings, cache, s.prefilled..<end))))
                budget -= end - s.prefilled
                if end == s.promptIds.count, let key = s.prefixKey { leaders.append(key) }
            } catch {
                plan.append((s, .failure(error)))
            }
        }
        return plan
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
        let cache = emptyCache(maxLength: min(contextLength, s.promptIds.count + max(s.options.maxNewTokens, 1)))
        if let prefixCache {
            // At least the last prompt token is run: its logits give the first answer token.
            s.prefilled = prefixCache.restore(try prefixKey(of: s), into: cache, limit: s.promptIds.count - 1)
            s.stats.cachedPromptTokens = s.prefilled
        }
        s.embeddings = embeddings
        s.cache = cache
        return (embeddings, cache)
    }

    /// What `s`'s prompt holds at each position (token ids, and the pictures in its image runs).
    private func prefixKey(of s: DecodingSequence) throws -> PrefixCache.Key {
        if let key = s.prefixKey { return key }
        let slots = try generator.assembler.imageSlots(in: s.promptIds, images: s.images.count)
        let key = PrefixCache.Key(ids: s.promptIds, images: zip(slots, s.images).map { ($0, $1.contentKey) })
        s.prefixKey = key
        return key
    }

    /// Whether `s`, whose prefill has not begun, waits a step for one of `leaders` (prompts whose
    /// prefill ends in this forward and is then stored): it would copy at least `sharedPrefixMinimum`
    /// more positions next step than the cache holds for it now.
    private func waitsForLeader(_ s: DecodingSequence, _ leaders: [PrefixCache.Key]) throws -> Bool {
        guard let prefixCache, s.cache == nil, !leaders.isEmpty else { return false }
        let key = try prefixKey(of: s)
        let limit = min(s.promptIds.count - 1, prefixCache.tokenLimit)
        let fromLeaders = leaders.map { min($0.shared(with: key), limit) }.max() ?? 0
        return fromLeaders - prefixCache.match(key, limit: limit) >= max(sharedPrefixMinimum, 1)
    }

    /// Stores `s`'s prompt in the prefix cache — with the answer ids already in its cache when `answer`
    /// (a follow-up turn of the same chat begins with them).
    private func remember(_ s: DecodingSequence, answer: Bool) {
        guard let prefixCache, let key = s.prefixKey, let cache = s.cache else { return }
        guard answer else { return prefixCache.insert(key, from: cache, length: s.promptIds.count) }
        let fed = min(cache.length - s.promptIds.count, s.ids.count)
        guard fed > 0 else { return }
        let extended = PrefixCache.Key(ids: s.promptIds + s.ids.prefix(fed), images: key.images)
        prefixCache.insert(extended, from: cache, length: extended.ids.count)
    }
}
