import Foundation

/// Text generation with a MiniMind-V model: prompt → (image features) → prefill into a
/// preallocated KV cache → one cached decode step per token, sampled in upstream's order.
/// Image features enter only through the prefill (upstream: "image features only at step 0").
///
/// One Generator runs one generation at a time (it is not meant to be shared by concurrent tasks).
///
///     let generator = Generator(bundle: try VLMBundle.load(folder: URL(fileURLWithPath: "demo-out/model")))
///     let image = try RGBImage(contentsOf: URL(fileURLWithPath: "photo.png"))
///     let prompt = try generator.chatPrompt("<image>\nDescribe the image.", images: [image])
///     print(try generator.generate(prompt, options: SamplingOptions(greedy: true)).text)
///
public final class Generator: @unchecked Sendable {
    public let model: MiniMindVLM
    public let tokenizer: Tokenizer
    /// nil when the tokenizer has no chat template this SDK knows (raw prompts still work).
    public let template: ChatTemplate?

    /// Builds every prompt of this generator (Docs/Model.md, "Assembling a prompt").
    public let assembler: PromptAssembler

    public init(model: MiniMindVLM, tokenizer: Tokenizer, template: ChatTemplate? = nil) {
        self.model = model
        self.tokenizer = tokenizer
        self.template = template ?? (try? ChatTemplate(tokenizer: tokenizer))
        assembler = PromptAssembler(tokenizer: tokenizer, template: self.template, config: model.config)
    }

    public convenience init(bundle: VLMBundle) {
        self.init(model: bundle.model, tokenizer: bundle.tokenizer, template: bundle.template)
    }

    var language: any LanguageModel { model.language }
    var config: VLMConfig { model.config }

    // MARK: - Prompts

    /// A one-question chat prompt with the generation prompt (the template adds its default system
    /// turn where it has one). Images without an `<image>` marker in `question` go in front of it.
    public func chatPrompt(_ question: String, images: [PromptImage] = [], system: String? = nil,
                           thinking: Bool? = nil) throws -> GenerationPrompt {
        var messages: [ChatMessage] = []
        if let system { messages.append(.system(system)) }
        messages.append(.user(assembler.question(question, images: images.count)))
        return try assembler.assemble(messages, images: images, thinking: thinking)
    }

    /// The eos ids in force for `options`.
    func eosIds(_ options: SamplingOptions) -> Set<Int> {
        Set(options.eosTokenIds ?? [tokenizer.eosTokenID ?? config.language.eosTokenId])
    }

    // MARK: - Checks

    /// Checks ids are in the vocabulary and the images match the placeholder runs one to one
    /// (`PromptAssembler.imageSlots`).
    func validate(_ prompt: GenerationPrompt) throws {
        guard !prompt.ids.isEmpty else { throw GenerationError.emptyPrompt }
        let vocab = config.language.vocabSize
        if let bad = prompt.ids.first(where: { $0 < 0 || $0 >= vocab }) {
            throw GenerationError.tokenOutOfVocabulary(id: bad, vocabulary: vocab)
        }
        _ = try assembler.imageSlots(in: prompt.ids, images: prompt.images.count)
    }

    // MARK: - Generation

    /// Generates a reply to `prompt`. `onToken(id, text)` sees each token as it is chosen with the
    /// text it completes (stop strings held back), and at the end `(nil, text)` for any text held
    /// back until then; return false to stop early.
    public func generate(_ prompt: GenerationPrompt, options: SamplingOptions = SamplingOptions(),
                         onToken: ((Int?, String) -> Bool)? = nil) throws -> GenerationResult {
        try options.validate()
        try validate(prompt)
        let limit = config.language.maxPositionEmbeddings
        guard prompt.ids.count < limit else { throw GenerationError.promptTooLong(tokens: prompt.ids.count, context: limit) }
        var stats = GenerationStats()
        let features = prompt.images.isEmpty ? nil : try projectedFeatures(prompt.images, stats: &stats)
        let cache = language.makeCache(batch: 1, maxLength: prompt.ids.count + max(options.maxNewTokens, 1))
        let embeddings = noGrad {
            model.embeddings(ids: prompt.ids, batch: 1, images: features,
                             imagesPerSample: features == nil ? [] : [Array(0..<prompt.images.count)])
        }
        return try decode(cache: cache, prefill: embeddings, sequence: prompt.ids, options: options, stats: stats,
                          onToken: onToken).result
    }

    /// Plain text in (with `<image>` markers, no chat template), reply out.
    public func generate(text: String, images: [PromptImage] = [], options: SamplingOptions = SamplingOptions()) throws -> GenerationResult {
        try generate(try assembler.assemble(text: text, images: images), options: options)
    }

    /// The reply as an asynchronous sequence: `.text` pieces as they complete, then `.finished`.
    /// Cancelling the consuming task (or dropping the sequence) stops generation at the next token.
    public func stream(_ prompt: GenerationPrompt, options: SamplingOptions = SamplingOptions())
        -> AsyncThrowingStream<GenerationEvent, Error> {
        Self.stream { onToken in try self.generate(prompt, options: options, onToken: onToken) }
    }

    /// Runs `work` on a detached task, yielding its tokens; cancellation of the consumer reaches it.
    static func stream(_ work: @escaping @Sendable (@escaping (Int?, String) -> Bool) throws -> GenerationResult)
        -> AsyncThrowingStream<GenerationEvent, Error> {
        AsyncThrowingStream { continuation in
            let task = Task.detached {
                do {
                    let result = try work { id, text in
                        continuation.yield(.text(text, tokenId: id))
                        return !Task.isCancelled
                    }
                    continuation.yield(.finished(result))
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// What a decode run leaves behind: the result and the ids now stored in the cache.
    struct DecodeOutcome {
        var result: GenerationResult
        /// Generated ids that were fed back into the cache (all but the last).
        var fedIds: [Int]
    }

    /// Prefills `prefill` [1, T, hidden] into `cache`, then samples token by token until eos, a stop
    /// string, the token budget, a full cache, or cancellation. `sequence`: every id now in the
    /// cache after the prefill (the repetition penalty sees them all).
    func decode(cache: KVCache, prefill: Tensor, sequence: [Int], options: SamplingOptions, stats initial: GenerationStats,
                onToken: ((Int?, String) -> Bool)?) throws -> DecodeOutcome {
        var stats = initial
        let vocab = config.language.vocabSize
        var stream = AnswerStream(options: options, generator: self, context: sequence)
        stats.seed = stream.seed

        var start = monotonicSeconds()
        var logits = noGrad { language.logits(embeddings: prefill, cache: cache, keyMask: nil, positions: .last) }
        stats.prefillSeconds = monotonicSeconds() - start
        stats.prefillTokens = prefill.shape[1]

        var reason = FinishReason.maxTokens
        var row = [Float](repeating: 0, count: vocab)
        start = monotonicSeconds()
        while stream.ids.count < options.maxNewTokens {
            if Task.isCancelled { reason = .cancelled; break }
            row.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: logits.pointer, count: vocab) }
            let (id, shown, end) = row.withUnsafeMutableBufferPointer { stream.next(logits: $0) }
            let keepGoing = onToken?(id, shown) ?? true
            if let end { reason = end; break }
            if !keepGoing { reason = .cancelled; break }
            if stream.ids.count >= options.maxNewTokens { reason = .maxTokens; break }
            if cache.remaining == 0 { reason = .contextFull; break }
            logits = noGrad { language.logits(embeddings: language.embed([id], batch: 1), cache: cache, keyMask: nil, positions: .last) }
        }
        stats.decodeSeconds = monotonicSeconds() - start
        stats.generatedTokens = stream.ids.count
        let (tail, stopped) = stream.flush()
        if stopped { reason = .stopString }
        if !tail.isEmpty { _ = onToken?(nil, tail) }
        let ids = stream.ids, text = stream.text
        let result = GenerationResult(text: text, ids: ids, finishReason: reason, stats: stats)
        return DecodeOutcome(result: result, fedIds: Array(ids.dropLast()))
    }
}
