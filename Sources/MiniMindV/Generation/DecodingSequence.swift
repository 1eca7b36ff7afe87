import Foundation

/// One sequence's token-by-token state in a continuous batch: its cache, sampler, streaming
/// detokenizer and stop-string matcher, and the tokens so far. The stopping rules are
/// `Generator.decode`'s: eos, stop string, token budget, full cache.
final class DecodingSequence {
    let slot: ContinuousBatch.Slot
    let promptIds: [Int]
    let images: [PromptImage]
    let options: SamplingOptions
    var stats = GenerationStats()

    /// Set when its prefill begins: its own cache, and the prompt embeddings (images spliced) until
    /// the prefill is done.
    var embeddings: Tensor?
    var cache: KVCache?
    /// Prompt tokens already in the cache (run, or copied from a cached prefix).
    var prefilled = 0
    /// What the prompt holds at each position, for the batch's `PrefixCache` (set with the cache).
    var prefixKey: PrefixCache.Key?
    /// The logits the next token is drawn from: row `row` of the last forward's output [S, vocab]
    /// (after the prefill or a decode step; the sampler works on it in place, no copy per row).
    var logits: (all: Tensor, row: Int)?

    private var stream: AnswerStream
    var ids: [Int] { stream.ids }
    var text: String { stream.text }
    private(set) var reason: FinishReason?
    private var decodeStart = 0.0

    init(slot: ContinuousBatch.Slot, ids: [Int], images: [PromptImage], options: SamplingOptions, generator: Generator) {
        self.slot = slot
        promptIds = ids
        self.images = images
        self.options = options
        stream = AnswerStream(options: options, generator: generator, context: ids)
        stats.seed = stream.seed
    }

    var prefillDone: Bool { cache != nil && prefilled == promptIds.count }
    var lastId: Int { ids.last ?? 0 }

    /// Draws the next token from `logits`; returns its id and the text it completes (held back
    /// while it could begin a stop string). Sets `reason` when the sequence has ended.
    func advance() -> (id: Int?, text: String) {
        guard let current = logits else { preconditionFailure("DecodingSequence.advance: no logits") }
        logits = nil
        let (all, row) = current
        if ids.isEmpty { decodeStart = monotonicSeconds() }
        guard ids.count < options.maxNewTokens else {
            reason = .maxTokens
            return (nil, "")
        }
        let vocab = all.shape[1]
        let (id, shown, end) = stream.next(logits: UnsafeMutableBufferPointer(start: all.mutablePointer + row * vocab, count: vocab))
        if let end { reason = end }
        else if ids.count >= options.maxNewTokens { reason = .maxTokens }
        else if (cache?.remaining ?? 0) == 0 { reason = .contextFull }
        return (id, shown)
    }

    /// Text held back until the end (an unfinished character, a possible stop-string start).
    func flush() -> String {
        let (tail, stopped) = stream.flush()
        if stopped { reason = .stopString }
        return tail
    }

    func result() -> GenerationResult {
        var s = stats
        s.generatedTokens = ids.count
        if decodeStart > 0 { s.decodeSeconds = monotonicSeconds() - decodeStart }
        return GenerationResult(text: text, ids: ids, finishReason: reason ?? .cancelled, stats: s)
    }
}
