import Foundation

extension Generator {
    /// Generates replies to several prompts at once (throughput): the prompts are left-padded to
    /// one length, padded keys are masked out, and every step decodes one token for all rows.
    /// Each row has its own sampler seeded with `options.seed`, so a row samples as the same prompt
    /// would alone. Rows that finish keep stepping (their tokens are ignored) until all are done.
    /// Left padding shifts a row's RoPE positions by its pad count; attention depends only on
    /// position differences, so results equal single-prompt runs up to float rounding.
    public func generateBatch(_ prompts: [GenerationPrompt], options: SamplingOptions = SamplingOptions()) throws -> [GenerationResult] {
        try options.validate()
        guard !prompts.isEmpty else { return [] }
        for p in prompts { try validate(p) }
        let b = prompts.count
        let width = prompts.map(\.ids.count).max() ?? 0
        let limit = config.language.maxPositionEmbeddings
        guard width < limit else { throw GenerationError.promptTooLong(tokens: width, context: limit) }
        let pad = config.language.padTokenId == config.imageTokenId ? 0 : config.language.padTokenId

        var stats = GenerationStats()
        let allImages = prompts.flatMap(\.images)
        let features = allImages.isEmpty ? nil : try projectedFeatures(allImages, stats: &stats)
        var imagesPerSample: [[Int]] = []
        var next = 0
        for p in prompts {
            imagesPerSample.append(Array(next..<(next + p.images.count)))
            next += p.images.count
        }

        let cache = language.makeCache(batch: b, maxLength: width + max(options.maxNewTokens, 1))
        let maxLength = cache.maxLength
        var keyMask = [Float](repeating: 1, count: b * maxLength)
        var padded: [Int] = []
        padded.reserveCapacity(b * width)
        for (row, p) in prompts.enumerated() {
            let padCount = width - p.ids.count
            for j in 0..<padCount { keyMask[row * maxLength + j] = 0 }
            padded += [Int](repeating: pad, count: padCount) + p.ids
        }

        // One seed for the whole batch (reported, so a run can be replayed); each row starts from it.
        var seeded = options
        var system = SystemRandomNumberGenerator()
        seeded.seed = options.seed ?? system.next()
        var samplers = prompts.map { p -> Sampler in
            var s = Sampler(options: seeded, vocabularySize: config.language.vocabSize)
            s.observe(p.ids)
            return s
        }
        stats.seed = samplers[0].seed
        let eos = eosIds(options)

        var start = monotonicSeconds()
        let embeddings = noGrad { model.embeddings(ids: padded, batch: b, images: features, imagesPerSample: imagesPerSample) }
        var logits = noGrad { language.logits(embeddings: embeddings, cache: cache, keyMask: keyMask, positions: .last) }
        stats.prefillSeconds = monotonicSeconds() - start
        stats.prefillTokens = b * width

        let vocab = config.language.vocabSize
        let detokenizers = prompts.map { _ in StreamingDetokenizer(tokenizer: tokenizer, skipSpecialTokens: true) }
        var matchers = prompts.map { _ in StopStringMatcher(options.stopStrings) }
        var ids = [[Int]](repeating: [], count: b)
        var texts = [String](repeating: "", count: b)
        var reasons = [FinishReason?](repeating: nil, count: b)
        var row = [Float](repeating: 0, count: vocab)
        start = monotonicSeconds()
        var step = 0
        while step < options.maxNewTokens && reasons.contains(where: { $0 == nil }) {
            if Task.isCancelled {
                for i in 0..<b where reasons[i] == nil { reasons[i] = .cancelled }
                break
            }
            var stepIds = [Int](repeating: pad, count: b)
            for i in 0..<b where reasons[i] == nil {
                row.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: logits.pointer + i * vocab, count: vocab) }
                let id = row.withUnsafeMutableBufferPointer { samplers[i].next(logits: $0) }
                stepIds[i] = id
                ids[i].append(id)
                samplers[i].observe(CollectionOfOne(id))
                if eos.contains(id) { reasons[i] = .eos; continue }
                texts[i] += matchers[i].feed(detokenizers[i].push(id))
                if matchers[i].stopped { reasons[i] = .stopString }
            }
            step += 1
            if step >= options.maxNewTokens || !reasons.contains(where: { $0 == nil }) { break }
            if cache.remaining == 0 {
                for i in 0..<b where reasons[i] == nil { reasons[i] = .contextFull }
                break
            }
            logits = noGrad { language.logits(embeddings: language.embed(stepIds, batch: b), cache: cache, keyMask: keyMask, positions: .last) }
        }
        stats.decodeSeconds = monotonicSeconds() - start
        return (0..<b).map { i in
            if !matchers[i].stopped {
                texts[i] += matchers[i].feed(detokenizers[i].finish()) + matchers[i].finish()
                if matchers[i].stopped { reasons[i] = .stopString }
            }
            var s = stats
            s.generatedTokens = ids[i].count
            s.prefillTokens = prompts[i].ids.count
            s.images = prompts[i].images.count
            return GenerationResult(text: texts[i], ids: ids[i], finishReason: reasons[i] ?? .maxTokens, stats: s)
        }
    }
}
