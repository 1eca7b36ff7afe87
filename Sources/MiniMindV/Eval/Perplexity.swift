// Perplexity: exp of the mean negative log-likelihood per token over the assistant tokens only
// (the tokens the SFT loss counts), teacher-forced, no generation. It runs the training loss
// path (`MiniMindVLM.loss(_:features:)`), so exp(mean training loss) on one batch is the same number.
import Foundation

public struct PerplexityResult: Sendable, Equatable {
    /// Summed negative log-likelihood (nats) over the counted tokens.
    public var totalNLL: Double
    /// Counted (assistant) tokens.
    public var tokens: Int
    public var meanNLL: Double { tokens > 0 ? totalNLL / Double(tokens) : .nan }
    /// nil when no token was counted.
    public var value: Double? { tokens > 0 ? exp(meanNLL) : nil }
}

public enum Perplexity {
    /// Teacher-forced perplexity of `samples` (built by `SampleBuilder`: labels on assistant
    /// tokens), in batches of `batchSize`; the mean is over tokens, not over batches.
    public static func measure(model: MiniMindVLM, samples: [TrainingSample], features: VisionFeatureExtractor?,
                               batchSize: Int) throws -> PerplexityResult {
        precondition(batchSize > 0, "Perplexity: batchSize must be positive")
        var result = PerplexityResult(totalNLL: 0, tokens: 0)
        try noGrad {
            for start in stride(from: 0, to: samples.count, by: batchSize) {
                let batch = TrainingBatch(Array(samples[start..<min(start + batchSize, samples.count)]))
                let counted = batch.targets.filter { $0 != TrainingSample.ignoreLabel }.count
                guard counted > 0 else { continue }
                let loss = try model.loss(batch, features: features)
                result.totalNLL += Double(loss.item) * Double(counted)
                result.tokens += counted
            }
        }
        return result
    }
}
