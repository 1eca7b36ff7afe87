// Flags of the training remedies (Docs/Training.md, "When the model goes wrong"), shared by
// `minimind-v pretrain` and `minimind-v sft`; ranges are checked by TrainingRecipe.validate().
import ArgumentParser
import Foundation
import MiniMindV

struct RemedyOptions: ParsableArguments {
    @Option(name: .long, help: "Dropout while training, on embeddings, attention probabilities, attention output and feed-forward output (default: the model config's, usually 0; never at inference). 0...0.99.")
    var dropout: Double?
    @Option(name: .customLong("label-smoothing"), help: "Label smoothing ε of the language loss (PyTorch's definition; default 0). 0...1.")
    var labelSmoothing: Double?
    @Option(name: .long, help: "Held-out data (same format as the training data, images from --images) whose loss is measured every --validation-interval steps.")
    var validation: String?
    @Option(name: .customLong("validation-interval"), help: "Optimizer steps between validation checks (default 50).")
    var validationInterval: Int = 50
    @Option(name: .customLong("early-stopping-patience"), help: "Stop after this many validation checks without improvement, keeping the best weights as <prefix>_<hidden>_best.pth (needs --validation).")
    var earlyStoppingPatience: Int?
    @Option(name: .customLong("early-stopping-min-delta"), help: "The validation loss must fall by more than this to count as an improvement (default 0).")
    var earlyStoppingMinDelta: Double = 0
    @Option(name: .customLong("answer-weight"), help: "Loss weight of answer tokens (default 1).")
    var answerWeight: Double?
    @Option(name: .customLong("template-weight"), help: "Loss weight of template tokens inside the answer span: the <|im_end|> end marker and an empty <think> block (default 1).")
    var templateWeight: Double?
    @Option(name: .customLong("source-weight"), help: "NAME=WEIGHT: loss weight of rows whose 'source' field is NAME (repeatable; others weigh 1).",
            transform: { try RemedyOptions.sourceWeight($0) })
    var sourceWeights: [SourceWeight] = []
    @Option(name: .customLong("lr-projector-ratio"), help: "The projector's learning rate as a multiple of --lr (default 1).")
    var lrProjectorRatio: Double?

    @Option(name: .customLong("augment-crop"), help: "Random resized crop of training pictures: the smallest area share of the box, e.g. 0.6 (default: off). 0 < x ≤ 1.")
    var augmentCrop: Double?
    @Flag(name: .customLong("augment-flip"), help: "Flip training pictures left–right with probability ½ (off by default: it breaks left/right questions).")
    var augmentFlip = false
    @Option(name: .customLong("augment-jitter"), help: "Colour jitter of training pictures: brightness, contrast and saturation factors uniform in [1 − J, 1 + J] (default: off). 0...1.")
    var augmentJitter: Double?
    @Option(name: .customLong("grounding-weight"), help: "Weight of the grounding term against answers that ignore the image (default: off; needs batches of ≥ 2).")
    var groundingWeight: Double?
    @Option(name: .customLong("grounding-term"), help: "contrastive (default: InfoNCE between pooled image tokens and answer states), mismatch (a margin on the answer's likelihood with another sample's picture; a second forward) or same-question (the same margin with the picture of a training row that asks the same question and answers otherwise).")
    var groundingTerm: GroundingObjective.Term?
    @Option(name: .customLong("grounding-margin"), help: "For --grounding-term mismatch and same-question: the mean answer NLL in nats another picture must add (default 1). 0...100.")
    var groundingMargin: Double?

    struct SourceWeight { var name: String; var weight: Double }

    static func sourceWeight(_ text: String) throws -> SourceWeight {
        let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, let w = Double(parts[1]) else {
            throw ValidationError("--source-weight wants NAME=WEIGHT (e.g. vqa=2), got '\(text)'")
        }
        return SourceWeight(name: String(parts[0]), weight: w)
    }

    func apply(to r: inout TrainingRecipe) {
        if let dropout { r.dropout = dropout }
        if let labelSmoothing { r.labelSmoothing = labelSmoothing }
        if let earlyStoppingPatience { r.earlyStopping = EarlyStopping(patience: earlyStoppingPatience, minDelta: earlyStoppingMinDelta) }
        if answerWeight != nil || templateWeight != nil || !sourceWeights.isEmpty {
            var sources: [String: Double] = [:]
            for s in sourceWeights { sources[s.name] = s.weight }
            r.lossWeights = LossWeights(answer: answerWeight ?? 1, template: templateWeight ?? 1, sources: sources)
        }
        if let lrProjectorRatio { r.projectorLRRatio = lrProjectorRatio }
        if augmentCrop != nil || augmentFlip || augmentJitter != nil {
            let j = augmentJitter ?? 0
            r.imageAugmentation = ImageAugmentation(cropScale: augmentCrop.map { $0...max($0, 1) }, horizontalFlip: augmentFlip,
                                                    brightness: j, contrast: j, saturation: j)
        }
        if let groundingWeight { r.groundingWeight = groundingWeight }
        if let groundingTerm { r.groundingTerm = groundingTerm }
        if let groundingMargin { r.groundingMargin = groundingMargin }
    }

    /// The numbers the recipe does not hold (checked before the recipe is made: a crop share
    /// becomes a range, which must not be built from NaN).
    func validateNumbers() throws {
        try InputRange.check("--validation-interval", validationInterval, in: 1...Int.max)
        if let augmentCrop { try InputRange.check("--augment-crop", augmentCrop, above: 0, upTo: 1, note: "the smallest area share of the crop box") }
        if validation == nil, let earlyStoppingPatience {
            throw InputRangeError(field: "--early-stopping-patience", value: "\(earlyStoppingPatience)", allowed: "a run with --validation",
                                  note: "early stopping watches the validation loss")
        }
    }

    /// The held-out samples of `--validation` for `trainer` (nil without it).
    func validationSet(for trainer: VLMTrainer, tokenizer: Tokenizer, imageFolder: URL?, warn: (String) -> Void) throws -> TrainingValidation? {
        guard let validation else { return nil }
        let data = try openConversationDataset(TrainingOptions.url(validation), imageFolder: imageFolder)
        let samples = try VLMTrainer.validationSamples(data: data, tokenizer: tokenizer, config: trainer.model.config,
                                                       maxSeqLen: trainer.recipe.maxSeqLen, strict: trainer.recipe.strict, warn: warn)
        warn("validation: \(samples.count) samples from \(validation), every \(validationInterval) steps")
        return TrainingValidation(samples: samples, interval: validationInterval)
    }
}
extension GroundingObjective.Term: ExpressibleByArgument {}
