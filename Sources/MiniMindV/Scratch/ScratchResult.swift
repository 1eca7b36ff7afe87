import Foundation

/// What a from-scratch run made and measured.
public struct ScratchResult: @unchecked Sendable {
    /// The settings as run: sizes from the data filled in, steps as chosen (time budget) or given.
    public var settings: ScratchSettings
    public var output: URL
    public var vocabSize = 0, imageSize = 0, patchSize = 0, positions = 0
    /// The evaluation's answer budget in tokens (set, or the longest test answer + 2).
    public var answerTokens = 0
    /// Wall-clock seconds per stage, in order.
    public var timings: [(stage: String, seconds: Double)] = []
    /// Loss curves (and validation losses) of the training stages.
    public var stages: [TrainingStageResult] = []
    /// The test questions after SFT: run 0 with each question's own image, run 1 with a blank image.
    public var evaluation: EvalResult?
    /// The same questions after the pretrain stage only.
    public var pretrainOnly: EvalResult?
    /// The caption questions about test images (when a test-captions file was given).
    public var captions: EvalResult?
    /// The vision stage's held-out score.
    public var vision: (label: String, value: Double)?
    /// How the time budget chose the steps, one line per stage (empty without a budget).
    public var budget: [String] = []
    public var skipped: [(file: String, count: Int)] = []

    public var totalSeconds: Double { timings.reduce(0) { $0 + $1.seconds } }
    public var modelFolder: URL { output.appendingPathComponent("model") }
    public var report: URL { output.appendingPathComponent("report.html") }
    public var metrics: URL { output.appendingPathComponent("metrics.json") }
    /// The flag that repeats this run's step counts exactly.
    public var stepsFlag: String { "--steps " + settings.steps.map(String.init).joined(separator: ",") }

    public var accuracy: Double { evaluation?.runs.first?.scores.accuracy ?? 0 }
    public var blankAccuracy: Double { run(evaluation, EvalAblation.blank.runName)?.scores.accuracy ?? 0 }
    public var pretrainAccuracy: Double { pretrainOnly?.runs.first?.scores.accuracy ?? 0 }

    /// Exact match of `type` in a run of `result` (nil: the real run).
    public func accuracy(_ type: String, in result: EvalResult?, run name: String? = nil) -> Double? {
        let r = name.map { run(result, $0) } ?? result?.runs.first
        return r?.typeScores.first { $0.type == type }?.scores.accuracy
    }

    func run(_ result: EvalResult?, _ name: String) -> EvalRun? { result?.runs.first { $0.name == name } }

    /// Share of the most common reference among the test questions of `type`: what a model that
    /// ignores the image can reach by always giving that answer.
    public func majorityShare(_ type: String) -> Double {
        guard let samples = evaluation?.samples.filter({ $0.type == type }), !samples.isEmpty else { return 0 }
        var counts: [String: Int] = [:]
        for s in samples { counts[s.references.first ?? "", default: 0] += 1 }
        return Double(counts.values.max() ?? 0) / Double(samples.count)
    }

    /// The question types of the test set, in the order the evaluation reports them.
    public var types: [String] { evaluation?.runs.first?.typeScores.map(\.type) ?? [] }
}
