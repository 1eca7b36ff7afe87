import Foundation

extension VLMTrainer {
    /// Held-out samples from a conversation dataset, built as training builds them but without
    /// augmentation or loss weights (validation measures the plain loss). Malformed rows are
    /// skipped with a warning (thrown when `strict`); their images are encoded on first use.
    public static func validationSamples(data: ConversationDataset, tokenizer: Tokenizer, template: ChatTemplate? = nil,
                                         config: VLMConfig, maxSeqLen: Int, strict: Bool,
                                         warn: (String) -> Void = { _ in }) throws -> [TrainingSample] {
        let builder = SampleBuilder(tokenizer: tokenizer, template: try template ?? ChatTemplate(tokenizer: tokenizer),
                                    config: config, maxSeqLen: maxSeqLen)
        let source = ConversationSampleSource(dataset: data, builder: builder)
        try source.validate(strict: strict, warn: warn)
        guard source.count > 0 else { throw TrainingError.noSamples("the validation data has no usable rows") }
        return try (0..<source.count).map { try source.sample($0, epoch: 0) }
    }
}
