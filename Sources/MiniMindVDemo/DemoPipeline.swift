// The built-in demo end to end, on MiniMindV's public API: synthetic data → tokenizer → four
// training stages through `VLMTrainer` (language model on the text, CLIP-style vision tower per
// region, pretrain recipe with only the projector, SFT recipe with projector + language model) →
// answers on unseen images through the Eval module (`Evaluator`, `Generator`'s batched greedy
// path), with the image blanked and before SFT → HTML report + model folder.
import Foundation
import MiniMindV

public struct DemoResult: Sendable {
    public var settings: DemoSettings
    /// Wall-clock seconds per stage, in order.
    public var timings: [(stage: String, seconds: Double)] = []
    /// The test questions after SFT: run 0 with each question's own image, run 1 with the blank image.
    public var evaluation: EvalResult?
    /// The same questions after the pretrain recipe only.
    public var pretrainOnly: EvalResult?
    /// The caption question ("Describe the image.", greedy) for every test image.
    public var captions: EvalResult?
    /// Loss curves (and validation losses) of the training stages.
    public var stages: [TrainingStageResult] = []
    /// Share of the unseen images' cells whose nearest phrase (CLIP stage, zero-shot) is their own.
    public var cellAccuracy: Double = 0
    public var output: URL

    public var score: DemoScore { DemoScore(evaluation?.runs.first) }
    public var blankScore: DemoScore { DemoScore(evaluation?.runs.first { $0.name == EvalAblation.blank.runName }) }
    public var pretrainScore: DemoScore { DemoScore(pretrainOnly?.runs.first) }
    /// Share of test images captioned exactly as their scene's caption.
    public var captionAccuracy: Double {
        guard let c = captions, let run = c.runs.first, !c.samples.isEmpty else { return 0 }
        return Double(zip(run.predictions, c.samples).filter { $0 == $1.references.first }.count) / Double(c.samples.count)
    }
    public var totalSeconds: Double { timings.reduce(0) { $0 + $1.seconds } }
    public var modelFolder: URL { output.appendingPathComponent("model") }
    public var report: URL { output.appendingPathComponent("report.html") }
}

/// Exact-match accuracy per question type of one evaluation run (the Eval module's per-type scores).
public struct DemoScore: Sendable {
    public let run: EvalRun?
    public init(_ run: EvalRun?) { self.run = run }

    func scores(_ type: DemoQuestionType) -> EvalScores? { run?.typeScores.first { $0.type == type.rawValue }?.scores }
    public func accuracy(_ type: DemoQuestionType) -> Double { scores(type)?.accuracy ?? 0 }
    public func total(_ type: DemoQuestionType) -> Int { scores(type)?.samples ?? 0 }
    public var overall: Double { run?.scores.accuracy ?? 0 }
}

public enum DemoPipeline {
    public static func run(settings s: DemoSettings, output: URL, progress: StageProgress? = nil) throws -> DemoResult {
        let previousThreads = Threads.count
        Threads.set(s.threads)
        defer { Threads.set(previousThreads) }
        var result = DemoResult(settings: s, output: output)
        var clock = monotonicSeconds()
        func lap(_ stage: String) {
            let t = monotonicSeconds()
            result.timings.append((stage, t - clock))
            clock = t
        }

        // 1. Data, written and read back through the JSONL + image-folder layout.
        let files = try DemoDataGenerator.write(to: output.appendingPathComponent("data"), sizes: s.sizes, imageSize: s.imageSize,
                                                seed: s.seed, captionEvery: s.captionEvery, progress: progress)
        let pretrainRows = try DemoData.rows(files.pretrain, images: files.images)
        let sftRows = try DemoData.rows(files.sft, images: files.images)
        let validationRows = try DemoData.rows(files.validation, images: files.images)
        lap("data")

        // 2. Tokenizer.
        progress?.start("tokenizer", total: 1, unit: "vocabularies")
        let texts = (pretrainRows + sftRows).flatMap { $0.messages.map { DemoData.withoutImageMarker($0.content ?? "") } }
        let tokenizerFolder = output.appendingPathComponent("tokenizer")
        let tokenizer = try DemoTokenizer.train(texts: texts + DemoTokenizer.templateTexts(), vocabSize: s.vocabSize,
                                                folder: tokenizerFolder)
        guard let imageTokenId = tokenizer.tokenToId(DemoTokenizer.imagePlaceholder) else {
            throw DemoError.tokenizer("no id for the image placeholder")
        }
        progress?.finish("\(tokenizer.vocabSize) tokens")
        lap("tokenizer")

        // The model: a random tower, language model and linear projector.
        let vision = try ViTVisionEncoder(config: s.visionConfig, preprocessing: s.preprocessing, seed: s.seed &+ 3)
        let config = VLMConfig(language: s.languageConfig(vocabSize: tokenizer.vocabSize), vision: s.visionConfig,
                               projector: .linear, imagePlaceholder: DemoTokenizer.imagePlaceholder, imageTokenId: imageTokenId)
        let vlm = try MiniMindVLM(config: config, language: try MiniMindLM(config: config.language, seed: s.seed &+ 1),
                                  projector: LinearProjector(visionDim: s.visionHidden, hidden: s.lmHidden, seed: s.seed &+ 7),
                                  vision: vision)
        let builder = SampleBuilder(tokenizer: tokenizer, template: try ChatTemplate(tokenizer: tokenizer), config: config,
                                    maxSeqLen: config.language.maxPositionEmbeddings)
        let features = VisionFeatureExtractor(encoder: vision, cache: nil)  // the frozen tower's features, once per image
        let callbacks: [TrainingCallback] = progress.map { [StageProgressCallback($0)] } ?? []
        func run(_ stage: TrainingStage) throws {
            let trainer = try VLMTrainer(model: vlm, recipe: stage.recipe, samples: stage.samples, features: features,
                                         objective: stage.objective)
            trainer.stageName = stage.name
            trainer.validation = stage.validation
            trainer.callbacks = callbacks
            result.stages.append(TrainingStageResult(name: stage.name, summary: try trainer.run()))
            lap(stage.name)
        }

        // 3. Language model on the text alone (captions and conversations, images dropped), every token a target.
        let textSamples = try (pretrainRows + sftRows).enumerated().map { k, row in
            TrainingSample.languageModeling(ids: try builder.build(DemoData.textOnly(row), index: k).ids, name: row.name)
        }
        try run(TrainingStage(name: "language model", recipe: s.recipe(steps: s.textSteps, batch: s.textBatch, lr: s.textLR,
                                                                       trainable: ["model"], seed: 5),
                              samples: PreparedSamples(textSamples), objective: LanguageModelObjective()))

        // 4. Vision tower, CLIP-style per cell (image token) against its phrase, then frozen.
        let cells = try DemoData.contrastiveSamples(pretrainRows, scenes: files.scenes)
        let contrastive = RegionContrastiveObjective(
            encoder: vision, phrases: DemoCell.phrases.map { tokenizer.encode($0) }, vocabSize: tokenizer.vocabSize,
            seed: s.seed &+ 11, regionClasses: { name in try DemoData.cells(of: name, scenes: files.scenes) })
        try run(TrainingStage(name: "vision encoder (CLIP per cell)",
                              recipe: s.recipe(steps: s.visionSteps, batch: s.visionBatch, lr: s.visionLR, trainable: [], seed: 12),
                              samples: PreparedSamples(cells), objective: contrastive))
        let heldOut = try DemoData.contrastiveSamples(try DemoData.rows(files.test, images: files.images), scenes: files.scenes)
        result.cellAccuracy = try contrastive.regionAccuracy(heldOut)
        progress?.log(String(format: "unseen cells matched to their phrase: %.1f%%", 100 * result.cellAccuracy))

        // 5. Pretrain recipe: captions, everything frozen but the projector.
        let captionSamples = try pretrainRows.enumerated().map { try builder.build($1, index: $0) }
        try run(TrainingStage(name: "pretrain (projector)", recipe: s.recipe(steps: s.pretrainSteps, batch: s.pretrainBatch,
                                                                             lr: s.pretrainLR, trainable: ["vision_proj"], seed: 13),
                              samples: PreparedSamples(captionSamples)))
        let generator = Generator(model: vlm, tokenizer: tokenizer)
        result.pretrainOnly = try DemoEvaluation.questions(generator, files: files, ablations: [], progress: progress)

        // 6. SFT recipe: conversations (and single-turn captions), projector + whole language model.
        let sftSamples = try sftRows.enumerated().map { try builder.build($1, index: $0) }
        let validation = try validationRows.prefix(128).enumerated().map { try builder.build($1, index: $0) }
        try run(TrainingStage(name: "SFT", recipe: s.recipe(steps: s.sftSteps, batch: s.sftBatch, lr: s.sftLR,
                                                            trainable: ["vision_proj", "model"], seed: 14),
                              samples: PreparedSamples(sftSamples),
                              validation: TrainingValidation(samples: validation, interval: max(1, s.sftSteps / 10))))
        vlm.freeze()

        // 7. Evaluation: with the image, with a blank (mean-colour) image; captions.
        result.evaluation = try DemoEvaluation.questions(generator, files: files, ablations: [.blank], progress: progress)
        result.captions = try DemoEvaluation.captions(generator, files: files, progress: progress)
        progress?.log(String(format: "accuracy %.1f%%, blank image %.1f%%, captions exactly right %.1f%%",
                             100 * result.score.overall, 100 * result.blankScore.overall, 100 * result.captionAccuracy))
        lap("evaluation (incl. pretrain-only)")

        // 8. Model folder and report.
        try VLMBundle(model: vlm, tokenizer: tokenizer, generation: DemoLanguage.generationConfig(eos: tokenizer.eosTokenID))
            .save(to: result.modelFolder, tokenizerFiles: tokenizerFolder)
        lap("save")
        try DemoReport.write(result, images: files.images, to: result.report)
        return result
    }
}
