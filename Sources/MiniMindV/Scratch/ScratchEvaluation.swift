// The recipe's evaluation through the Eval module: the same samples, `Evaluator` and batched greedy
// `Generator` path as `minimind-v eval --data TEST` on the saved model folder.
import Foundation

struct ScratchEvaluation {
    let generator: Generator
    let data: ScratchData
    let settings: ScratchSettings
    let progress: StageProgress?

    /// The answer budget: set, or the longest test answer's tokens + 2.
    var answerTokens: Int {
        settings.answerTokens ?? (load(data.test).0.flatMap(\.references).map { generator.tokenizer.encode($0).count }.max() ?? 1) + 2
    }

    /// Every test question, exact match per `type`, with the given ablations.
    func questions(ablations: [EvalAblation]) throws -> EvalResult? {
        guard !data.test.isEmpty else { return nil }
        let (samples, dataset) = load(data.test)
        return try run(samples, dataset: dataset, prefix: "questions",
                       options: EvalOptions(task: .auto, maxNewTokens: answerTokens, batchSize: 64,
                                            ablations: ablations, perplexity: false))
    }

    /// The caption questions about test images, when there are any.
    func captions() throws -> EvalResult? {
        guard !data.testCaptions.isEmpty else { return nil }
        let (samples, dataset) = load(data.testCaptions)
        return try run(samples, dataset: dataset, prefix: "captions",
                       options: EvalOptions(task: .caption, maxNewTokens: settings.captionTokens, batchSize: 64, perplexity: false))
    }

    func load(_ rows: [ConversationRow]) -> ([EvalSample], ConversationDataset) {
        let dataset = InMemoryConversationDataset(rows)
        let (samples, _) = EvalSampleLoader.load(dataset, rolesByPosition: true, imageMarker: generator.model.config.imageMarker,
                                                 warn: { [progress] in progress?.log($0) })
        return (samples, dataset)
    }

    func run(_ samples: [EvalSample], dataset: ConversationDataset, prefix: String, options: EvalOptions) throws -> EvalResult? {
        guard !samples.isEmpty else { return nil }
        let evaluator = Evaluator(generator: generator)
        if let progress { evaluator.warn = { progress.log($0) } }
        evaluator.progress = { [progress] stage, done, total in progress?.step("\(prefix) (\(stage))", done: done, total: total, unit: "samples") }
        let result = try evaluator.run(samples, dataset: dataset, options: options)
        progress?.finishStep()
        return result
    }
}
