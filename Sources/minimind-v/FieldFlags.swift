// Library range errors name the library's field (`LoRAConfig.rank`, `ScratchSettings.lmHeads`);
// this says which flag of this tool sets it, so `FlagAdvice` can add it to the message.
import Foundation
import MiniMindV

enum FieldFlags {
    /// Library field → what sets it on the command line. Fields no flag sets (a preset's grid, the
    /// vision stage's batch) are not listed: their errors need no advice.
    static let advice: [String: String] = {
        var table: [String: String] = [
            "LoRAConfig.rank": "--lora-rank", "LoRAConfig.alpha": "--lora-alpha", "LoRAConfig.dropout": "--lora-dropout",
            "LoRAConfig.targets": "--lora-targets", "LoRAConfig.modulesToSave": "--lora-modules-to-save",
            "LowRankCompression.Target.rank": "--rank", "LowRankCompression.Target.energy": "--energy",
            "StructuredPruning.ffnKeep": "--ffn-keep", "StructuredPruning.headsKeep": "--heads-keep",
            "CompressionRecovery.steps": "--recover-steps", "CompressionRecovery.learningRate": "--recover-lr",
            "CompressionRecovery.batchSize": "--recover-batch-size", "CompressionRecovery.maxSeqLen": "--recover-max-seq-len",
            "TrainingRecipe.dropout": "--dropout", "TrainingRecipe.labelSmoothing": "--label-smoothing",
            "TrainingRecipe.earlyStopping": "--early-stopping-patience, which needs --validation FILE",
            "TrainingRecipe.earlyStopping.patience": "--early-stopping-patience",
            "TrainingRecipe.earlyStopping.minDelta": "--early-stopping-min-delta",
            "TrainingRecipe.lossWeights.answer": "--answer-weight", "TrainingRecipe.lossWeights.template": "--template-weight",
            "TrainingRecipe.lossWeights.sources": "--source-weight NAME=WEIGHT", "TrainingRecipe.projectorLRRatio": "--lr-projector-ratio",
            "TrainingRecipe.groundingWeight": "--grounding-weight", "TrainingRecipe.groundingMargin": "--grounding-margin",
            "ScratchSettings.threads": "--threads", "ScratchSettings.vocabSize": "--vocab-size",
            "ScratchSettings.imageSize": "--image-size", "ScratchSettings.patchSize": "--patch-size",
            "ScratchSettings.lmHidden": "--lm-hidden", "ScratchSettings.lmLayers": "--lm-layers", "ScratchSettings.lmHeads": "--lm-heads",
            "ScratchSettings.visionHidden": "--vision-hidden", "ScratchSettings.visionLayers": "--vision-layers",
            "ScratchSettings.maxPositions": "--max-seq-len", "ScratchSettings.timeBudgetMinutes": "--time-budget",
            "ScratchSettings.answerTokens": "--answer-tokens",
            "TrainingRecipe.batchSize": "--batch-size", "TrainingRecipe.epochs": "--epochs",
            "TrainingRecipe.maxSeqLen": "--max-seq-len (with --pad-to-max-length every batch runs at it)",
            "TrainingRecipe.accumulationSteps": "--accumulation-steps", "TrainingRecipe.saveInterval": "--save-interval",
            "TrainingRecipe.warmupSteps": "--warmup-steps", "TrainingRecipe.learningRate": "--lr", "TrainingRecipe.gradClip": "--grad-clip",
            "TrainingRecipe.maxSteps": "--max-steps", "TrainingRecipe.maxSamples": "--max-samples",
            "TrainingRecipe.lengthBuckets": "--length-buckets",
            "TrainingRecipe.epochs × micro-batches per epoch": "--epochs (or --max-samples)",
            "ImageAugmentation.cropScale": "--augment-crop", "ImageAugmentation.cropScale.upperBound": "--augment-crop",
            "ImageAugmentation.brightness": "--augment-jitter", "ImageAugmentation.contrast": "--augment-jitter",
            "ImageAugmentation.saturation": "--augment-jitter",
            "DistillationObjective.temperature": "--temperature", "DistillationObjective.alpha": "--alpha",
            "TeacherLogitCache.topK": "--teacher-top-k",
            "SamplingOptions.temperature": "--temperature", "SamplingOptions.maxNewTokens": "--max-new-tokens",
            "Threads.count": "--threads",
        ]
        for (i, stage) in ["text", "vision", "pretrain", "sft"].enumerated() {
            table["ScratchSettings.\(stage).steps"] = "value \(i + 1) of --steps LM,VISION,PRETRAIN,SFT"
            if stage != "vision" { table["ScratchSettings.\(stage).batch"] = "--batch-size" }
        }
        return table
    }()

    /// "set by --lora-rank" for `LoRAConfig.rank`; a field with a key (`TrainingRecipe.lossWeights.sources[vqa]`)
    /// is looked up without it. Nil for fields no flag sets.
    static func advice(field: String) -> String? {
        (advice[field] ?? advice[String(field.prefix { $0 != "[" })]).map { "set by \($0)" }
    }
}
