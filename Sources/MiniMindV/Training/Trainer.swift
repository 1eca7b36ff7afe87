import Foundation

/// Runs a recipe: data, freeze policy, objective, optimizer, schedule, checkpoints, events.
/// Callbacks see a run through this protocol, so they work with any trainer.
public protocol Trainer: AnyObject {
    var recipe: TrainingRecipe { get }
    /// The stage this run is (`TrainingStage.name`; a single run: the recipe's stage).
    var stageName: String { get }
    var callbacks: [TrainingCallback] { get set }
    /// Loss of every optimizer step so far.
    var losses: [Double] { get }
    /// Optimizer steps of the whole run (the schedule's length, not `maxSteps`).
    var totalSteps: Int { get }
    /// Epochs the run makes over its samples.
    var epochs: Int { get }
    func run() throws -> TrainingSummary
    /// Mean loss of `samples` under the run's objective, without gradients.
    func evaluate(_ samples: [TrainingSample]) throws -> Double
    /// Asks the run to stop after the current optimizer step.
    func requestStop()
}

/// What a callback asks the trainer to do after an event.
public enum TrainingControl: Sendable { case proceed, stop }

/// One optimizer step, as reported to callbacks, the progress line and the metrics log.
public struct StepReport: Sendable {
    public var epoch: Int
    /// Optimizer steps done, 1-based, and the run's total (the schedule's length, not `maxSteps`).
    public var step: Int
    public var totalSteps: Int
    /// Training loss of the step: the mean of its micro-batch losses (under the run's objective).
    public var loss: Double
    public var lr: Double
    /// Global gradient norm before clipping.
    public var gradNorm: Double
    /// Real (non-padding) tokens processed in this step, and seconds the step took.
    public var tokens: Int
    public var seconds: Double
    public var elapsed: Double
    /// Of `seconds`: forward (loss) and backward; the rest is the clip and the optimizer update.
    public var forwardSeconds: Double = 0
    public var backwardSeconds: Double = 0
    public var tokensPerSecond: Double { seconds > 0 ? Double(tokens) / seconds : 0 }
}

/// A stage as events name it: its name, its place in a staged run (0-based, of `count`) and its steps.
public struct TrainingStageInfo: Sendable, Equatable {
    public var name: String
    public var index: Int
    public var count: Int
    public var totalSteps: Int
}

/// A held-out loss measured during a run.
public struct ValidationPoint: Sendable, Equatable {
    public var step: Int
    public var loss: Double
}

/// The event stream of a run, in order: `stageStarted`, then per optimizer step `step`, and after
/// it `validation` (every `TrainingValidation.interval` steps and at the last), `saved`,
/// `epochFinished` as they happen; `stageFinished` last. A staged run repeats this per stage.
public enum TrainingEvent: Sendable {
    case stageStarted(TrainingStageInfo)
    case step(StepReport)
    case validation(ValidationPoint)
    case saved([URL])
    case epochFinished(epoch: Int)
    case stageFinished(TrainingStageInfo, TrainingSummary)
}

/// Receives a run's events. Returning `.stop` (from any event) ends the run after the current
/// optimizer step; it saves first, as a stop by `maxSteps` does.
public protocol TrainingCallback: AnyObject {
    func training(_ event: TrainingEvent, trainer: any Trainer) -> TrainingControl
}

/// A callback from a closure, for quick use: `ClosureCallback(onStep: { r, _ in print(r.loss); return .proceed })`,
/// or every event: `ClosureCallback({ event, trainer in …; return .proceed })`.
public final class ClosureCallback: TrainingCallback {
    let handle: (TrainingEvent, any Trainer) -> TrainingControl
    public init(_ handle: @escaping (TrainingEvent, any Trainer) -> TrainingControl) { self.handle = handle }
    /// Only the step reports.
    public convenience init(onStep: @escaping (StepReport, any Trainer) -> TrainingControl) {
        self.init { event, trainer in
            if case .step(let r) = event { return onStep(r, trainer) }
            return .proceed
        }
    }
    public func training(_ event: TrainingEvent, trainer: any Trainer) -> TrainingControl { handle(event, trainer) }
}

/// Held-out samples whose mean loss the trainer measures every `interval` optimizer steps and
/// at the last step (reported as `.validation` events and in `TrainingSummary.validation`).
public struct TrainingValidation {
    public var samples: [TrainingSample]
    public var interval: Int
    public init(samples: [TrainingSample], interval: Int) {
        self.samples = samples
        self.interval = max(1, interval)
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
    /// Held-out losses measured during this run (empty without `TrainingValidation`).
    public var validation: [ValidationPoint] = []
    /// The best validation point under early stopping (its weights: `{prefix}_{hidden}_best.pth`).
    public var bestValidation: ValidationPoint?
    /// Wall-clock seconds of this run.
    public var seconds: Double = 0
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
