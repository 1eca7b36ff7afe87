import Foundation

/// A multi-turn conversation that keeps its KV cache between turns.
///
/// Each question renders the whole conversation with the chat template, compares its ids with the
/// ids already in the cache and runs only the part after the common prefix (a follow-up prefills just
/// its new tokens; an edited or re-tokenised history falls back to the point where they differ).
/// Prompts are built by the generator's `PromptAssembler`; projected image features are cached by
/// image content in `featureCache` (the server's `ImageFeatureCache` type).
///
/// Context policy: the cache holds `contextLength` tokens. An answer gets what is left of the cache
/// after the prompt, up to `maxNewTokens` (it stops with `FinishReason.contextFull` when the cache is
/// full). Only when the rendered conversation leaves less than `answerReserve` tokens are the oldest
/// exchanges dropped (never the system prompt or the new question). The images of dropped exchanges
/// are re-attached to the first exchange kept (or to the new question), so a conversation about an
/// image keeps its image; only when the prompt with them leaves no room at all are they left out,
/// oldest first, and `lastImagesLeftOut` says so. If the prompt alone leaves no room for one token,
/// `GenerationError.promptTooLong` is thrown and the session is unchanged.
///
///     let chat = ChatSession(generator: Generator(bundle: bundle))
///     let photo = PromptImage.file(URL(fileURLWithPath: "photo.png"))
///     print(try chat.ask("<image>\nWhat is in the picture?", images: [photo]).text)
///     print(try chat.ask("What colour is it?").text)   // prefills only the new turn
public final class ChatSession {
    public struct Turn: Sendable {
        public var question: String
        public var images: [PromptImage]
        public var answer: String
    }

    public let generator: Generator
    public var options: SamplingOptions
    public let contextLength: Int
    /// System prompt (nil: the template's default, if it has one).
    public var system: String?
    /// The template's thinking switch (minimind-3 `open_thinking`; nil = template default).
    public var thinking: Bool?
    public private(set) var turns: [Turn] = []
    /// Statistics of the last answer (prefillTokens counts only what was run through the model).
    public private(set) var lastStats = GenerationStats()
    /// Turns the context policy dropped during the last question.
    public private(set) var lastDroppedTurns = 0
    /// Images of dropped turns that the last question carried forward (re-attached, still seen).
    public private(set) var lastReattachedImages = 0
    /// Images of the conversation that did not fit with the last question: its answer was given
    /// without them. 0 whenever every image the conversation was about is still in the prompt.
    public private(set) var lastImagesLeftOut = 0
    /// The fewest answer tokens a question must leave room for before old turns are dropped
    /// (nil: `min(maxNewTokens, contextLength / 4)`). A smaller budget than `maxNewTokens` is not
    /// worth losing the conversation for: most answers are short, and a long one ends with
    /// `.contextFull` instead.
    public var answerReserve: Int?
    /// Projected features of the images asked about (16 by default, oldest evicted); kept by `reset()`.
    public let featureCache: ImageFeatureCache

    private let cache: KVCache
    private var cachedIds: [Int] = []

    public init(generator: Generator, options: SamplingOptions = SamplingOptions(), contextLength: Int = 2048,
                system: String? = nil, featureCache: ImageFeatureCache = ImageFeatureCache()) {
        self.generator = generator
        self.featureCache = featureCache
        self.options = options
        self.system = system
        cache = generator.model.language.makeCache(batch: 1, maxLength: max(contextLength, 2))
        self.contextLength = cache.maxLength
    }

    /// Forgets the conversation and the KV cache (image features stay cached).
    public func reset() {
        turns.removeAll()
        cachedIds.removeAll()
        cache.reset()
    }

    /// Tokens currently held in the KV cache.
    public var cachedTokenCount: Int { cache.length }

    /// The conversation as chat messages (with `question` appended as the last user turn when given).
    public func messages(adding question: String? = nil) -> [ChatMessage] {
        Self.messages(system: system, turns: turns, question: question)
    }

    static func messages(system: String?, turns: [Turn], question: String?) -> [ChatMessage] {
        var out: [ChatMessage] = []
        if let system { out.append(.system(system)) }
        for t in turns {
            out.append(.user(t.question))
            out.append(.assistant(t.answer))
        }
        if let question { out.append(.user(question)) }
        return out
    }

    /// Asks a question (`<image>` marks where each image goes; a question without markers gets its
    /// images in front of its text, `PromptAssembler.question`). `onToken` streams the answer as in
    /// Generator.generate.
    public func ask(_ question: String, images: [PromptImage] = [], onToken: ((Int?, String) -> Bool)? = nil) throws -> GenerationResult {
        try options.validate()
        let text = generator.assembler.question(question, images: images.count)

        // Render, dropping the oldest turns while the prompt leaves less than the reserve; their
        // images travel forward with the conversation (see the type's comment).
        let reserve = max(1, min(options.maxNewTokens, answerReserve ?? contextLength / 4))
        var kept = turns
        var carried: [PromptImage] = []
        var leftOut = 0
        var (rendered, prompt) = try render(kept, carrying: carried, question: text, images: images)
        while prompt.ids.count + reserve > contextLength && !kept.isEmpty {
            let dropped = kept.removeFirst()
            let present = Set((kept.flatMap(\.images) + images + carried).compactMap(\.contentKey))
            carried += dropped.images.filter { $0.contentKey.map { !present.contains($0) } ?? true }
            (rendered, prompt) = try render(kept, carrying: carried, question: text, images: images)
        }
        while prompt.ids.count >= contextLength && !carried.isEmpty {
            carried.removeFirst()
            leftOut += 1
            (rendered, prompt) = try render(kept, carrying: carried, question: text, images: images)
        }
        let dropped = turns.count - kept.count
        let ids = prompt.ids
        guard ids.count < contextLength else { throw GenerationError.promptTooLong(tokens: ids.count, context: contextLength) }
        try generator.validate(prompt)

        // Reuse the cached prefix; never start inside an image run, always run at least one token.
        var prefix = zip(cachedIds, ids).prefix { $0 == $1 }.count
        if prefix == ids.count { prefix -= 1 }
        for slot in prompt.imageSlots where slot.lowerBound < prefix && prefix < slot.upperBound { prefix = slot.lowerBound }
        let needed = zip(prompt.imageSlots, prompt.images).filter { $0.0.lowerBound >= prefix }.map(\.1)

        var stats = GenerationStats()
        let projected = try featureCache.features(for: needed, generator: generator, stats: &stats)
        cache.truncate(to: min(prefix, cache.length))
        cachedIds = Array(cachedIds.prefix(cache.length))
        precondition(cache.length == prefix, "ChatSession: cache holds \(cache.length) tokens, expected \(prefix)")
        let suffix = Array(ids[prefix...])
        let embeddings = noGrad {
            generator.model.embeddings(ids: suffix, batch: 1, images: projected,
                                       imagesPerSample: projected == nil ? [] : [Array(0..<needed.count)])
        }
        let outcome = try generator.decode(cache: cache, prefill: embeddings, sequence: ids, options: options, stats: stats,
                                           onToken: onToken)
        cachedIds = ids + outcome.fedIds
        var asked = rendered
        asked[asked.count - 1].answer = outcome.result.text
        turns = asked
        lastStats = outcome.result.stats
        lastDroppedTurns = dropped
        lastReattachedImages = carried.count
        lastImagesLeftOut = leftOut
        return outcome.result
    }

    /// `ask` as an asynchronous sequence of text pieces, then the result.
    public func stream(_ question: String, images: [PromptImage] = []) -> AsyncThrowingStream<GenerationEvent, Error> {
        let session = UncheckedBox(self)
        return Generator.stream { onToken in try session.value.ask(question, images: images, onToken: onToken) }
    }

    /// The turns as they will be rendered (`carried` images re-attached in front of the first turn,
    /// the new question last with an empty answer) and the assembled prompt.
    private func render(_ kept: [Turn], carrying carried: [PromptImage], question: String,
                        images: [PromptImage]) throws -> (turns: [Turn], prompt: GenerationPrompt) {
        var all = kept + [Turn(question: question, images: images, answer: "")]
        if !carried.isEmpty {
            all[0].question = String(repeating: generator.assembler.marker + "\n", count: carried.count) + all[0].question
            all[0].images = carried + all[0].images
        }
        let messages = Self.messages(system: system, turns: Array(all.dropLast()), question: all[all.count - 1].question)
        return (all, try generator.assembler.assemble(messages, images: all.flatMap(\.images), thinking: thinking))
    }
}

/// Lets a non-Sendable session cross into the generation task (it is used by one task at a time).
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
