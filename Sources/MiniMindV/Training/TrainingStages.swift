import Foundation

/// One named stage of a staged run: its recipe (trainable set, rates, steps), samples, objective
/// and optional held-out samples.
public struct TrainingStage {
    public var name: String
    public var recipe: TrainingRecipe
    public var samples: TrainingSampleSource
    /// nil: the recipe's (`TrainingRecipe.defaultObjective`).
    public var objective: TrainingObjective?
    public var validation: TrainingValidation?

    public init(name: String, recipe: TrainingRecipe, samples: TrainingSampleSource,
                objective: TrainingObjective? = nil, validation: TrainingValidation? = nil) {
        self.name = name
        self.recipe = recipe
        self.samples = samples
        self.objective = objective
        self.validation = validation
    }
}

/// The outcome of one stage of a staged run.
public struct TrainingStageResult: Sendable {
    public var name: String
    public var summary: TrainingSummary
    public init(name: String, summary: TrainingSummary) {
        self.name = name
        self.summary = summary
    }
}

extension VLMTrainer {
    /// Runs `stages` in order on one model, each through its own `VLMTrainer` (its freeze policy
    /// or objective decides what trains), with the same callbacks; events carry the stage's name
    /// and place. `between(k)` runs after stage k (e.g. an evaluation) before the next starts.
    /// Stops after a stage that was stopped early.
    public static func run(stages: [TrainingStage], model: MiniMindVLM, features: VisionFeatureExtractor? = nil,
                           callbacks: [TrainingCallback] = [], between: (Int) throws -> Void = { _ in }) throws -> [TrainingStageResult] {
        var results: [TrainingStageResult] = []
        for (k, stage) in stages.enumerated() {
            let trainer = try VLMTrainer(model: model, recipe: stage.recipe, samples: stage.samples, features: features,
                                         objective: stage.objective)
            trainer.stageName = stage.name
            trainer.stageIndex = k
            trainer.stageCount = stages.count
            trainer.validation = stage.validation
            trainer.callbacks = callbacks
            let summary = try trainer.run()
            results.append(TrainingStageResult(name: stage.name, summary: summary))
            if summary.stoppedEarly { break }
            try between(k)
        }
        return results
    }
}
