// The scores of one set of predictions: the task's metrics (a metric that does not apply is nil).
import Foundation

public struct EvalScores: Sendable, Equatable {
    public var samples: Int
    /// Exact match after the VQA normalisation (task vqa).
    public var accuracy: Double?
    /// Official VQA accuracy over the samples with at least 2 references (task vqa; nil when none has).
    public var vqaAccuracy: Double?
    /// BLEU-1…4 (task caption).
    public var bleu: [Double]?
    public var ciderD: Double?
    public var rougeL: Double?
    /// Teacher-forced, over the rows of these samples (nil when not measured).
    public var perplexity: Double?

    /// Scores `predictions[i]` against `references[i]` as `task` (vqa or caption) asks.
    public static func score(task: EvalTask, predictions: [String], references: [[String]]) -> EvalScores {
        precondition(predictions.count == references.count, "EvalScores: \(predictions.count) predictions, \(references.count) reference lists")
        var s = EvalScores(samples: predictions.count)
        guard !predictions.isEmpty else { return s }
        switch task {
        case .caption:
            s.bleu = CorpusBLEU.scores(hypotheses: predictions, references: references)
            s.ciderD = CIDErD.scores(hypotheses: predictions, references: references).mean
            s.rougeL = RougeL.score(hypotheses: predictions, references: references).mean
        case .vqa, .auto:
            let correct = zip(predictions, references).filter { VQAAccuracy.exactMatch(prediction: $0, references: $1) }.count
            s.accuracy = Double(correct) / Double(predictions.count)
            let several = zip(predictions, references).filter { $1.count >= 2 }
            if !several.isEmpty {
                s.vqaAccuracy = several.map { VQAAccuracy.softAccuracy(prediction: $0, references: $1) }.reduce(0, +) / Double(several.count)
            }
        }
        return s
    }

    /// The metrics.json keys, in a fixed order; absent metrics are left out.
    public var json: OrderedJSON {
        var pairs: [(key: String, value: OrderedJSON)] = [("samples", .int(samples))]
        if let accuracy { pairs.append(("accuracy", .double(accuracy))) }
        if let vqaAccuracy { pairs.append(("vqa_accuracy", .double(vqaAccuracy))) }
        if let bleu { for (n, b) in bleu.enumerated() { pairs.append(("bleu\(n + 1)", .double(b))) } }
        if let ciderD { pairs.append(("cider_d", .double(ciderD))) }
        if let rougeL { pairs.append(("rouge_l", .double(rougeL))) }
        if let perplexity { pairs.append(("perplexity", .double(perplexity))) }
        return .object(pairs)
    }

    /// The headline metric of a task, for tables: accuracy for vqa, CIDEr-D for captions.
    public func headline(_ task: EvalTask) -> Double? { task == .caption ? ciderD : accuracy }
}
