/// One answer's token-by-token state: sampler, streaming detokenizer, stop-string matcher and eos
/// ids, with the ids and text so far. `Generator.decode` and the continuous batch's
/// `DecodingSequence` both draw through it, so the two apply the same stopping rules.
struct AnswerStream {
    private var sampler: Sampler
    private let detokenizer: StreamingDetokenizer
    private var matcher: StopStringMatcher
    private let eos: Set<Int>
    private(set) var ids: [Int] = []
    private(set) var text = ""
    var seed: UInt64 { sampler.seed }

    /// `context`: the ids already in the sequence (the repetition penalty sees them all).
    init(options: SamplingOptions, generator: Generator, context: [Int]) {
        sampler = Sampler(options: options, vocabularySize: generator.config.language.vocabSize)
        sampler.observe(context)
        eos = generator.eosIds(options)
        detokenizer = StreamingDetokenizer(tokenizer: generator.tokenizer, skipSpecialTokens: true)
        matcher = StopStringMatcher(options.stopStrings)
    }

    /// Draws the next token from `logits` (the sampler works on them in place). Returns its id, the
    /// text it completes (held back while it could begin a stop string), and `.eos` or
    /// `.stopString` when it ended the answer.
    mutating func next(logits: UnsafeMutableBufferPointer<Float>) -> (id: Int, shown: String, end: FinishReason?) {
        let id = sampler.next(logits: logits)
        ids.append(id)
        sampler.observe(CollectionOfOne(id))
        if eos.contains(id) { return (id, "", .eos) }
        let shown = matcher.feed(detokenizer.push(id))
        text += shown
        return (id, shown, matcher.stopped ? .stopString : nil)
    }

    /// The text held back until the end (an unfinished character, a possible stop-string start);
    /// `stopped` is true when the answer ended on a stop string.
    mutating func flush() -> (tail: String, stopped: Bool) {
        guard !matcher.stopped else { return ("", true) }
        let tail = matcher.feed(detokenizer.finish()) + matcher.finish()
        text += tail
        return (tail, matcher.stopped)
    }
}
