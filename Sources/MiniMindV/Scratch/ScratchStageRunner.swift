// Runs the recipe's training stages one by one through `VLMTrainer`: skips (loads) a stage that a
// resumed run finished, continues one that was interrupted, and under a time budget measures the
// stage's step rate on a few probe steps before choosing its step count.
import Foundation

final class ScratchStageRunner {
    let model: MiniMindVLM
    let vision: ViTVisionEncoder
    let features: VisionFeatureExtractor
    let checkpoints: ScratchCheckpoints
    let resume: Bool
    let callbacks: [TrainingCallback]
    let progress: StageProgress?
    var plan = ScratchPlan()
    /// Budget bookkeeping: the run's start and its length in seconds (nil: no budget).
    let started = monotonicSeconds()
    let budgetSeconds: Double?
    /// Shares of the budget per stage (language model, vision, pretrain, SFT); the rest is for evaluation.
    static let shares = [0.06, 0.12, 0.06, 0.66]
    var budgetLines: [String] = []

    init(model: MiniMindVLM, vision: ViTVisionEncoder, features: VisionFeatureExtractor, checkpoints: ScratchCheckpoints,
         resume: Bool, budgetMinutes: Double?, callbacks: [TrainingCallback], progress: StageProgress?) throws {
        self.model = model
        self.vision = vision
        self.features = features
        self.checkpoints = checkpoints
        self.resume = resume
        self.callbacks = callbacks
        self.progress = progress
        budgetSeconds = budgetMinutes.map { $0 * 60 }
        if resume { plan = try checkpoints.plan() } else { try checkpoints.clear() }
    }

    struct Stage {
        var index: Int
        var name: String
        var recipe: TrainingRecipe
        var samples: [TrainingSample]
        var objective: () throws -> TrainingObjective
        var validation: TrainingValidation?
        /// Mid-stage resume files work for stages whose state is the model's own (not the vision stage).
        var resumable: Bool
    }

    /// The finished stage's record if a resumed run has it (weights loaded), else nil.
    func finished(_ index: Int, _ name: String) throws -> ScratchStageRecord? {
        guard resume, let record = try checkpoints.record(index, name) else { return nil }
        try checkpoints.load(index, name, model: model, vision: vision)
        progress?.log("[\(name)] done in an earlier run: loaded its checkpoint")
        return record
    }

    /// The steps this stage runs: the plan's (resumed), the budget's, or the settings'.
    func steps(_ stage: Stage) throws -> Int {
        if let planned = plan.steps[stage.index] { return planned }
        guard let budget = budgetSeconds else { return stage.recipe.steps ?? 1 }
        let perStep = try probe(stage)
        let remainingShares = Self.shares[stage.index...].reduce(0, +)
        let left = 0.9 * budget - (monotonicSeconds() - started)
        let seconds = max(0, left) * Self.shares[stage.index] / remainingShares
        let steps = max(10, Int(seconds / max(perStep, 1e-6)))
        let line = String(format: "%@: %.3f s/step measured, %.0f s of the budget → %d steps", stage.name, perStep, seconds, steps)
        budgetLines.append(line)
        progress?.log("[time budget] " + line)
        plan.steps[stage.index] = steps
        try checkpoints.save(plan)
        return steps
    }

    /// Seconds per optimizer step over steps 2–4 of a throwaway run; the weights are restored after.
    func probe(_ stage: Stage) throws -> Double {
        let saved = try snapshot()
        defer { try? restore(saved) }
        var recipe = stage.recipe
        recipe.steps = 4
        recipe.saveInterval = Int.max
        let trainer = try VLMTrainer(model: model, recipe: recipe, samples: PreparedSamples(stage.samples), features: features,
                                     objective: try stage.objective())
        let timer = StepTimer()
        trainer.callbacks = [timer]
        _ = try trainer.run()
        return timer.seconds.dropFirst().reduce(0, +) / Double(max(timer.seconds.count - 1, 1))
    }

    /// Runs (or resumes) a stage; a stopped stage throws `ScratchError.interrupted`.
    func run(_ stage: Stage, heldOut: () throws -> (label: String, value: Double)? = { nil })
        throws -> (TrainingStageResult, (label: String, value: Double)?) {
        if let record = try finished(stage.index, stage.name) {
            plan.steps[stage.index] = record.totalSteps
            let score = record.heldOutLabel.flatMap { label in record.heldOutValue.map { (label, $0) } }
            return (TrainingStageResult(name: stage.name, summary: record.summary), score)
        }
        var recipe = stage.recipe
        recipe.steps = try steps(stage)
        let dir = checkpoints.stageFolder(stage.index, stage.name)
        let objective = try stage.objective()
        let trainer = try VLMTrainer(model: model, recipe: recipe, samples: PreparedSamples(stage.samples), features: features,
                                     objective: objective, outputDirectory: stage.resumable ? dir : nil)
        trainer.stageName = stage.name
        trainer.stageIndex = stage.index
        trainer.stageCount = 4
        // Ten validation points per stage, whatever its chosen length.
        trainer.validation = stage.validation.map { TrainingValidation(samples: $0.samples, interval: max(1, (recipe.steps ?? 10) / 10)) }
        trainer.callbacks = callbacks
        if let progress { trainer.warn = { progress.log($0) } }
        let resumeFile = dir.appendingPathComponent(trainer.resumeFileName)
        if resume && stage.resumable && FileManager.default.fileExists(atPath: resumeFile.path) {
            try trainer.resume(from: resumeFile)
            progress?.log("[\(stage.name)] resuming at step \(trainer.position.optimizerSteps)")
        }
        let summary = try trainer.run()
        if summary.stoppedEarly { throw ScratchError.interrupted(stage: stage.name) }
        let score = try heldOut()
        try checkpoints.save(stage.index, ScratchStageRecord(name: stage.name, summary: summary, heldOut: score), model: model, vision: vision)
        plan.steps[stage.index] = recipe.steps
        return (TrainingStageResult(name: stage.name, summary: summary), score)
    }

    typealias Snapshot = (model: StateDict, vision: StateDict)

    func snapshot() throws -> Snapshot { (try StateDict(module: model), try StateDict(module: vision)) }

    func restore(_ s: Snapshot) throws {
        for (state, module) in [(s.model, model as Module), (s.vision, vision as Module)] {
            var tensors: [String: Tensor] = [:]
            for (key, data) in state.entries { tensors[key] = try data.toTensor() }
            _ = try module.loadStateDict(tensors, strict: true)
        }
    }
}

/// Collects the seconds of each optimizer step (the time-budget probe).
final class StepTimer: TrainingCallback {
    var seconds: [Double] = []
    func training(_ event: TrainingEvent, trainer: any Trainer) -> TrainingControl {
        if case .step(let r) = event { seconds.append(r.seconds) }
        return .proceed
    }
}
