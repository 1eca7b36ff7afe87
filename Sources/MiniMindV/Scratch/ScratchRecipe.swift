// A vision-language model trained from nothing on one dataset, in stages, through the public
// training and evaluation API: BPE tokenizer on the text → language model on the text alone →
// vision tower, contrastive (then frozen) → pretrain recipe (projector only) → SFT recipe (projector
// + language model) → evaluation of the test questions through the Eval module (`Evaluator`,
// `Generator`'s batched greedy path), with a blank image and after the pretrain stage alone →
// model folder, report.html and metrics.json. Docs/Scratch.md describes each stage.
import Foundation

/// ```swift
/// let recipe = ScratchRecipe(settings: .preset(.tiny))
/// recipe.progress = .stderr()
/// let result = try recipe.run(ScratchInputs(train: trainJSONL, images: imageFolder, test: testJSONL),
///                             output: URL(fileURLWithPath: "scratch-out"))
/// print(result.accuracy, result.blankAccuracy)      // then: minimind-v chat --model scratch-out/model
/// ```
public final class ScratchRecipe {
    public var settings: ScratchSettings
    /// How the vision tower learns (default: whole images against their text).
    public var vision: ScratchVisionStage = ImageTextStage()
    public var progress: StageProgress?
    /// Called with the run's training events besides the progress lines (e.g. to stop a stage).
    public var callbacks: [TrainingCallback] = []
    /// Continue from DIR/checkpoints: finished stages are loaded, an interrupted one continues.
    public var resume = false
    /// The report's heading and first paragraph (HTML).
    public var title = "MiniMindV trained from scratch"
    public var introduction: String?
    /// The model folder's example questions (nil: the first test question of each type).
    public var exampleQuestions: [String]?

    public init(settings: ScratchSettings) { self.settings = settings }

    public func run(_ inputs: ScratchInputs, output: URL) throws -> ScratchResult {
        let data = try ScratchData.load(inputs, warn: { [progress] in progress?.log($0) })
        return try run(data: data, output: output)
    }

    public func run(data: ScratchData, output: URL) throws -> ScratchResult {
        var s = settings
        try s.validate()
        let previousThreads = Threads.count
        Threads.set(s.threads)
        defer { Threads.set(previousThreads) }
        var result = ScratchResult(settings: s, output: output)
        result.skipped = data.skipped
        var clock = monotonicSeconds()
        func lap(_ stage: String) {
            let t = monotonicSeconds()
            result.timings.append((stage, t - clock))
            clock = t
        }

        // 1. Tokenizer (retrained on resume too: it is a function of the text, so the ids match).
        progress?.start("tokenizer", total: 1, unit: "vocabularies")
        let tokenizerFolder = output.appendingPathComponent("tokenizer")
        let tokenizer = try ScratchTokenizer.train(texts: data.tokenizerTexts + ScratchTokenizer.templateTexts(), vocabSize: s.vocabSize,
                                                   folder: tokenizerFolder, imagePlaceholder: s.imagePlaceholder)
        guard let imageTokenId = tokenizer.tokenToId(s.imagePlaceholder) else { throw ScratchError.tokenizer("no id for the image placeholder") }
        progress?.finish("\(tokenizer.vocabSize) tokens")
        lap("tokenizer")

        // 2. Sizes: image and patch from the images, positions from the longest sample.
        let (imageSize, patchSize) = try ScratchSizing.image(s, data: data)
        s.imageSize = imageSize
        s.patchSize = patchSize
        let visionConfig = s.visionConfig(imageSize: imageSize, patchSize: patchSize)
        func config(positions: Int) -> VLMConfig {
            VLMConfig(language: s.languageConfig(vocabSize: tokenizer.vocabSize, positions: positions), vision: visionConfig,
                      projector: .linear, imagePlaceholder: s.imagePlaceholder, imageTokenId: imageTokenId)
        }
        if s.maxPositions == nil {
            let probe = config(positions: ConfigLimits.maxPositions)
            let measure = SampleBuilder(tokenizer: tokenizer, template: try ChatTemplate(tokenizer: tokenizer), config: probe,
                                        maxSeqLen: ConfigLimits.maxPositions)
            let longest = (data.textRows + data.validation).compactMap { try? measure.build($0).ids.count }.max() ?? 0
            s.maxPositions = ScratchSizing.positions(longest: longest)
        }
        let positions = s.maxPositions ?? 512
        let vlmConfig = config(positions: positions)
        result.vocabSize = tokenizer.vocabSize
        (result.imageSize, result.patchSize, result.positions) = (imageSize, patchSize, positions)
        progress?.log("sizes: vocabulary \(tokenizer.vocabSize), image \(imageSize)×\(imageSize) in \(patchSize)-pixel patches "
                      + "(\(vlmConfig.imageTokens) image tokens), \(positions) positions")

        // The model: a random tower, language model and linear projector.
        let tower = try ViTVisionEncoder(config: visionConfig, preprocessing: ScratchSettings.preprocessing(imageSize: imageSize),
                                         seed: s.seed &+ 3)
        let vlm = try MiniMindVLM(config: vlmConfig, language: try MiniMindLM(config: vlmConfig.language, seed: s.seed &+ 1),
                                  projector: LinearProjector(visionDim: s.visionHidden, hidden: s.lmHidden, seed: s.seed &+ 7),
                                  vision: tower)
        let builder = SampleBuilder(tokenizer: tokenizer, template: try ChatTemplate(tokenizer: tokenizer), config: vlmConfig, maxSeqLen: positions)
        func build(_ rows: [ConversationRow]) throws -> [TrainingSample] {
            var out: [TrainingSample] = []
            for (k, row) in rows.enumerated() {
                do { out.append(try builder.build(row, index: k)) } catch let TrainingDataError.malformedRow(name, reason) {
                    progress?.log("warning: skipping \(name): \(reason)")  // a bad row costs that row
                }
            }
            guard !out.isEmpty || rows.isEmpty else { throw ScratchError.data("no row could be made into a training sample") }
            return out
        }
        let features = VisionFeatureExtractor(encoder: tower, cache: nil)  // the frozen tower's features, once per image
        let runner = try ScratchStageRunner(model: vlm, vision: tower, features: features,
                                            checkpoints: ScratchCheckpoints(folder: output.appendingPathComponent("checkpoints")),
                                            resume: resume, budgetMinutes: s.timeBudgetMinutes,
                                            callbacks: (progress.map { [StageProgressCallback($0)] } ?? []) + callbacks, progress: progress)
        func record(_ stage: (TrainingStageResult, (label: String, value: Double)?)) {
            result.stages.append(stage.0)
            lap(stage.0.name)
        }

        // 3. Language model on the text alone (images dropped), every token a target.
        let textSamples = try build(data.textRows.map(ScratchData.textOnly)).map { TrainingSample.languageModeling(ids: $0.ids, name: $0.name) }
        record(try runner.run(.init(index: 0, name: "language model", recipe: s.recipe(s.text, trainable: ["model"], seed: 5, prefix: "text"),
                                    samples: textSamples, objective: { LanguageModelObjective() }, resumable: true)))

        // 4. Vision tower, contrastive, then frozen.
        let visionPlan = try vision.prepare(encoder: tower, tokenizer: tokenizer, data: data, seed: s.seed &+ 11)
        var trained: (any VisionTowerObjective)?  // the last objective made is the real run's (a time-budget probe makes one before it)
        let visionResult = try runner.run(.init(index: 1, name: vision.name, recipe: s.recipe(s.vision, trainable: [], seed: 12, prefix: "vision"),
                                                samples: visionPlan.samples, objective: { [vision, data] in
            // A fresh objective per trainer (a time-budget probe must not share trained heads); same seed, same start.
            let objective = try vision.prepare(encoder: tower, tokenizer: tokenizer, data: data, seed: s.seed &+ 11).objective
            trained = objective
            return objective
        }, resumable: false), heldOut: { [vision, data] in
            guard let objective = trained, let held = try vision.heldOut(tokenizer: tokenizer, data: data) else { return nil }
            return try (held.label, objective.heldOutScore(held.samples))
        })
        record(visionResult)
        result.vision = visionResult.1
        if let v = result.vision { progress?.log(String(format: "%@: %.1f%%", v.label, 100 * v.value)) }

        // 5. Pretrain recipe: everything frozen but the projector.
        record(try runner.run(.init(index: 2, name: "pretrain (projector)",
                                    recipe: s.recipe(s.pretrain, trainable: ["vision_proj"], seed: 13, prefix: "pretrain"),
                                    samples: try build(data.pretrainRows), objective: { VisionLanguageObjective() }, resumable: true)))
        let generator = Generator(model: vlm, tokenizer: tokenizer)
        let evaluation = ScratchEvaluation(generator: generator, data: data, settings: s, progress: progress)
        result.answerTokens = evaluation.answerTokens
        result.pretrainOnly = try evaluation.questions(ablations: [])

        // 6. SFT recipe: conversations, projector + whole language model.
        let validation = try build(Array(data.validation.prefix(s.validationSamples)))
        record(try runner.run(.init(index: 3, name: "SFT", recipe: s.recipe(s.sft, trainable: ["vision_proj", "model"], seed: 14, prefix: "sft"),
                                    samples: try build(data.train), objective: { VisionLanguageObjective() },
                                    validation: validation.isEmpty ? nil : TrainingValidation(samples: validation, interval: 1),
                                    resumable: true)))
        vlm.freeze()
        s.steps = runner.plan.steps.enumerated().map { $1 ?? s.steps[$0] }
        result.settings = s
        result.budget = runner.budgetLines

        // 7. Evaluation: with the image, with a blank (mean-colour) image; captions.
        result.evaluation = try evaluation.questions(ablations: [.blank])
        result.captions = try evaluation.captions()
        progress?.log(String(format: "accuracy %.1f%%, blank image %.1f%%, after pretrain only %.1f%%",
                             100 * result.accuracy, 100 * result.blankAccuracy, 100 * result.pretrainAccuracy))
        lap("evaluation (incl. pretrain-only)")

        // 8. Model folder, report, metrics.
        let generation = GenerationConfig(doSample: false, maxNewTokens: s.captionTokens, eosTokenId: tokenizer.eosTokenID.map { [$0] },
                                          captionPrompt: data.captionPrompt, exampleQuestions: exampleQuestions ?? data.exampleQuestions)
        try VLMBundle(model: vlm, tokenizer: tokenizer, generation: generation).save(to: result.modelFolder, tokenizerFiles: tokenizerFolder)
        lap("save")
        try ScratchReport.write(result, title: title, introduction: introduction)
        try ScratchMetrics.write(result)
        if !result.budget.isEmpty { progress?.log("repeat these steps exactly with: \(result.stepsFlag)") }
        return result
    }
}
