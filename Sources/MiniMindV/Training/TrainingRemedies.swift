import Foundation

/// Early stopping on the validation loss (Docs/Training.md, "When the model goes wrong"): after
/// every validation check, a loss below the best so far by more than `minDelta` is an improvement
/// and its weights are kept as `{prefix}_{hidden}_best.pth`; `patience` checks in a row without
/// one stop the run. Needs held-out samples (`VLMTrainer.validation`, the CLI's `--validation`).
public struct EarlyStopping: Codable, Equatable, Sendable {
    public var patience: Int
    public var minDelta: Double
    public init(patience: Int, minDelta: Double = 0) {
        self.patience = patience
        self.minDelta = minDelta
    }
}

/// Where early stopping stands: the best validation point so far and the checks since it.
/// Saved in the resume file, so a resumed run stops where the uninterrupted one would.
public struct EarlyStoppingState: Codable, Equatable, Sendable {
    public var bestStep: Int?
    public var bestLoss: Double?
    public var checksWithoutImprovement = 0
    public init() {}

    /// Records `point`; `improved`: it is the new best; `stop`: patience is used up.
    public mutating func observe(_ point: ValidationPoint, rule: EarlyStopping) -> (improved: Bool, stop: Bool) {
        if bestLoss.map({ point.loss < $0 - rule.minDelta }) ?? point.loss.isFinite {
            bestStep = point.step
            bestLoss = point.loss
            checksWithoutImprovement = 0
            return (true, false)
        }
        checksWithoutImprovement += 1
        return (false, checksWithoutImprovement >= rule.patience)
    }
}

/// Per-token weights on the language loss (Docs/Training.md, "When the model goes wrong"):
/// `answer` for the tokens of an assistant answer, `template` for the template tokens inside the
/// labelled span (the `<|im_end|>\n` end marker and an empty `<think>` block), times the row's
/// data-source weight (`sources[row's "source" field]`, 1 for rows without one or not listed).
/// The loss stays a mean over the counted tokens: Σ wᵢ·ℓᵢ / counted, so all-1 weights are the
/// plain loss.
public struct LossWeights: Codable, Equatable, Sendable {
    public var answer: Double
    public var template: Double
    public var sources: [String: Double]
    public init(answer: Double = 1, template: Double = 1, sources: [String: Double] = [:]) {
        self.answer = answer
        self.template = template
        self.sources = sources
    }

    /// The largest weight accepted: far above any sensible choice, low enough that a loss cannot overflow.
    public static let maxWeight = 1e4
}

extension TrainingRecipe {
    /// The remedies' numbers, each against its range; errors name the recipe's field.
    func validateRemedies() throws {
        if let dropout { try InputRange.check("TrainingRecipe.dropout", dropout, in: 0...0.99) }
        if let labelSmoothing { try InputRange.check("TrainingRecipe.labelSmoothing", labelSmoothing, in: 0...1) }
        if let earlyStopping {
            try InputRange.check("TrainingRecipe.earlyStopping.patience", earlyStopping.patience, in: 1...TrainingLimits.maxEpochs)
            try InputRange.check("TrainingRecipe.earlyStopping.minDelta", earlyStopping.minDelta, in: 0...Double.greatestFiniteMagnitude)
        }
        if let lossWeights {
            try InputRange.check("TrainingRecipe.lossWeights.answer", lossWeights.answer, in: 0...LossWeights.maxWeight)
            try InputRange.check("TrainingRecipe.lossWeights.template", lossWeights.template, in: 0...LossWeights.maxWeight)
            for (name, w) in lossWeights.sources.sorted(by: { $0.key < $1.key }) {
                try InputRange.check("TrainingRecipe.lossWeights.sources[\(name)]", w, in: 0...LossWeights.maxWeight)
            }
        }
        if let projectorLRRatio {
            try InputRange.check("TrainingRecipe.projectorLRRatio", projectorLRRatio, in: 0...LossWeights.maxWeight)
        }
        try validateImageAugmentation()
        if let groundingWeight { try InputRange.check("TrainingRecipe.groundingWeight", groundingWeight, in: 0...LossWeights.maxWeight) }
        if let groundingMargin { try InputRange.check("TrainingRecipe.groundingMargin", groundingMargin, in: 0...100) }
    }

    /// The objective the recipe asks for: the language loss, plus the grounding term when its weight is > 0.
    public var defaultObjective: TrainingObjective {
        if let w = groundingWeight, w > 0 {
            return GroundingObjective(weight: Float(w), term: groundingTerm ?? .contrastive, margin: Float(groundingMargin ?? 1))
        }
        return VisionLanguageObjective()
    }

    /// `defaultObjective` for a run on `samples`: the `sameQuestion` grounding term gets its
    /// pictures from them (`GroundingNegatives`, one pass over the samples when the trainer is made).
    public func defaultObjective(samples: TrainingSampleSource) throws -> TrainingObjective {
        let objective = defaultObjective
        if let grounding = objective as? GroundingObjective, grounding.term == .sameQuestion {
            grounding.negatives = try GroundingNegatives(samples: samples)
        }
        return objective
    }
}
