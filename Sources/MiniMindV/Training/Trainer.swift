import Foundation

/// Runs a recipe: data, freeze policy, optimizer, schedule, checkpoints, callbacks.
public protocol Trainer: AnyObject {
    var recipe: TrainingRecipe { get }
    func run() throws -> TrainingSummary
}

/// What a callback asks the trainer to do after a step.
public enum TrainingControl: Sendable { case proceed, stop }

/// One optimizer step, as reported to callbacks, the progress line and the metrics log.
public struct StepReport: Sendable {
    public var epoch: Int
    /// Optimizer steps done, 1-based, and the run's total (the schedule's length, not `maxSteps`).
    public var step: Int
    public var totalSteps: Int
    /// Training loss of the step: the mean of its micro-batch losses (cross-entropy + MoE aux).
    public var loss: Double
    public var lr: Double
    /// Global gradient norm before clipping.
    public var gradNorm: Double
    /// Real (non-padding) tokens processed in this step, and seconds the step took.
    public var tokens: Int
    public var seconds: Double
    public var elapsed: Double
    public var tokensPerSecond: Double { seconds > 0 ? Double(tokens) / seconds : 0 }
}

/// Hooks into a run. Every method has a default that does nothing.
public protocol TrainingCallback: AnyObject {
    func trainingDidStep(_ report: StepReport, trainer: VLMTrainer) -> TrainingControl
    func trainingDidFinishEpoch(_ epoch: Int, trainer: VLMTrainer)
    func trainingDidSave(_ files: [URL], trainer: VLMTrainer)
}

public extension TrainingCallback {
    func trainingDidStep(_ report: StepReport, trainer: VLMTrainer) -> TrainingControl { .proceed }
    func trainingDidFinishEpoch(_ epoch: Int, trainer: VLMTrainer) {}
    func trainingDidSave(_ files: [URL], trainer: VLMTrainer) {}
}

/// A callback from closures, for quick use: `ClosureCallback { report, _ in print(report.loss); return .proceed }`.
public final class ClosureCallback: TrainingCallback {
    let onStep: (StepReport, VLMTrainer) -> TrainingControl
    public init(onStep: @escaping (StepReport, VLMTrainer) -> TrainingControl) { self.onStep = onStep }
    public func trainingDidStep(_ report: StepReport, trainer: VLMTrainer) -> TrainingControl { onStep(report, trainer) }
}

/// Evaluates the mean loss of held-out samples every `interval` optimizer steps and hands it to `report`.
public final class EvaluationCallback: TrainingCallback {
    public let samples: [TrainingSample]
    public let interval: Int
    let report: (Int, Double) -> Void
    public init(samples: [TrainingSample], interval: Int, report: @escaping (_ step: Int, _ loss: Double) -> Void) {
        self.samples = samples
        self.interval = max(1, interval)
        self.report = report
    }
    public func trainingDidStep(_ r: StepReport, trainer: VLMTrainer) -> TrainingControl {
        if r.step % interval == 0, let loss = try? trainer.evaluate(samples) { report(r.step, loss) }
        return .proceed
    }
}

/// Where a run is: the next micro-batch to run and the optimizer steps done. Saved in the resume file.
public struct TrainingPosition: Codable, Equatable, Sendable {
    public var epoch = 0
    /// Index of the next micro-batch within the epoch's (shuffled) order.
    public var microBatch = 0
    public var optimizerSteps = 0
    public init() {}
}

/// The outcome of `run()`.
public struct TrainingSummary: Sendable {
    /// Loss of every optimizer step of this run (after a resume: the steps since the resume point
    /// are appended to those recorded before it).
    public var losses: [Double]
    public var steps: Int
    public var totalSteps: Int
    public var stoppedEarly: Bool
    public var savedFiles: [URL]
}

/// Errors of the training loop itself (data errors are `TrainingDataError`).
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case nonFiniteLoss(step: Int, loss: Double)
    case resume(path: String, reason: String)
    case noSamples(String)
    case nothingToTrain(String)
    /// An update made a trained tensor non-finite or too large for the float16 release file.
    case nonFiniteWeights(step: Int, tensor: String, value: Float)

    public var description: String {
        switch self {
        case .nonFiniteLoss(let step, let loss):
            return "training diverged at optimizer step \(step): loss or gradient norm is \(loss); lower the learning rate or check the data"
        case .resume(let path, let reason): return "cannot resume from \(path): \(reason)"
        case .noSamples(let why): return "no training samples: \(why)"
        case .nothingToTrain(let why): return "nothing to train: \(why)"
        case .nonFiniteWeights(let step, let tensor, let value):
            return "training diverged at optimizer step \(step): \(tensor) holds \(value) (float16 release weights hold at most ±65504); nothing was saved for this step — lower the learning rate"
        }
    }
}
