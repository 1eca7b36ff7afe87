import Foundation

/// The recipe's remedies inside the training loop (Docs/Training.md, "When the model goes wrong"):
/// dropout switched on for the run and reseeded per micro-batch, label smoothing and image
/// augmentation (seeded per micro-batch and sample) on every training batch, and early stopping
/// with the best weights kept.
extension VLMTrainer {
    /// The dropout rate of this run: the recipe's, else the model config's (upstream's meaning).
    public var dropoutRate: Double { recipe.dropout ?? Double(model.config.language.dropout) }

    /// `{prefix}_{hidden}[_moe]_best.pth` (and `.safetensors`): the weights of the best validation loss.
    public var bestWeightsFileName: String { releaseBaseName + "_best.pth" }

    /// Whether the run ended because early stopping's patience ran out.
    public var stoppedByEarlyStopping: Bool {
        recipe.earlyStopping.map { earlyStopping.checksWithoutImprovement >= $0.patience } ?? false
    }

    func enterRemedies() throws {
        let p = dropoutRate
        if p > 0 {
            let field = recipe.dropout == nil ? "config dropout" : "TrainingRecipe.dropout"
            try InputRange.check(field, p, in: 0...0.99)
            guard let lm = model.language as? DropoutTrainable else {
                throw InputRangeError(field: field, value: "\(p)", allowed: "0", note: "this language model applies no dropout")
            }
            lm.trainingDropout = TrainingDropout(p: Float(p), seed: recipe.seed)
        }
        if let rule = recipe.earlyStopping, validation == nil {
            throw InputRangeError(field: "TrainingRecipe.earlyStopping", value: "patience \(rule.patience)", allowed: "a run with validation samples",
                                  note: "early stopping watches the validation loss: give the trainer validation samples")
        }
    }

    func leaveRemedies() {
        (model.language as? DropoutTrainable)?.trainingDropout = nil
    }

    /// Training-only settings of micro-batch `t` (1-based, global): label smoothing, and dropout
    /// masks drawn from (seed, t, rank), so a resumed run draws the masks the uninterrupted one would.
    func prepareRemedies(_ batch: inout TrainingBatch, microBatch t: Int) {
        batch.labelSmoothing = Float(recipe.labelSmoothing ?? 0)
        if let augmentation = recipe.imageAugmentation, augmentation.isActive {
            let base = recipe.seed ^ 0xA076_1D64_78BD_642F ^ (UInt64(t) &* 0xE703_7ED1_A0B4_28DB) ^ (UInt64(communicator.rank) &* 0x8EBC_6AF0_9C88_C6E3)
            batch.imageAugmentation = (augmentation, seeds: (0..<batch.batch).map { base &+ UInt64($0) &* 0x9E37_79B9_7F4A_7C15 })
        }
        if let dropout = (model.language as? DropoutTrainable)?.trainingDropout {
            dropout.reseed(recipe.seed ^ (UInt64(t) &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(communicator.rank) &* 0xD1B5_4A32_D192_ED03))
        }
    }

    /// Records a validation point under the early-stopping rule: saves the best weights when it
    /// improves (returned), and says whether patience is used up.
    func observeEarlyStopping(_ point: ValidationPoint) throws -> (stop: Bool, saved: [URL]) {
        guard let rule = recipe.earlyStopping else { return (false, []) }
        let (improved, stop) = earlyStopping.observe(point, rule: rule)
        guard improved, let dir = outputDirectory else { return (stop, []) }
        try checkTrainedWeights()
        let release = try StateDict(module: model, dtype: .f16)
        let pth = dir.appendingPathComponent(bestWeightsFileName)
        let st = dir.appendingPathComponent(releaseBaseName + "_best.safetensors")
        try PTHFile.write(release, to: pth)
        try Safetensors.write(release, to: st, metadata: ["format": "pt", "producer": "MiniMindV",
                                                          "step": String(point.step), "validation_loss": String(point.loss)])
        return (stop, [pth, st])
    }
}
