// The built-in demo: its synthetic shapes data (JSONL + PNG folder) and the library's from-scratch
// recipe (`ScratchRecipe`) with fixed settings and a per-cell vision stage (`DemoCellStage`):
// tokenizer → language model → vision tower → pretrain (projector) → SFT → answers on unseen
// images through the Eval module, with the image blanked and before SFT → report + model folder.
import Foundation
import MiniMindV

public struct DemoResult: Sendable {
    public var settings: DemoSettings
    /// The recipe's run (stages, evaluations, sizes).
    public var scratch: ScratchResult
    /// Seconds spent writing the data.
    public var dataSeconds: Double

    /// Wall-clock seconds per stage, in order (the data first).
    public var timings: [(stage: String, seconds: Double)] { [("data", dataSeconds)] + scratch.timings }
    /// The test questions after SFT: run 0 with each question's own image, run 1 with the blank image.
    public var evaluation: EvalResult? { scratch.evaluation }
    /// The same questions after the pretrain recipe only.
    public var pretrainOnly: EvalResult? { scratch.pretrainOnly }
    /// The caption question ("Describe the image.", greedy) for every test image.
    public var captions: EvalResult? { scratch.captions }
    /// Loss curves (and validation losses) of the training stages.
    public var stages: [TrainingStageResult] { scratch.stages }
    /// Share of the unseen images' cells whose nearest phrase (CLIP stage, zero-shot) is their own.
    public var cellAccuracy: Double { scratch.vision?.value ?? 0 }
    public var output: URL { scratch.output }

    public var score: DemoScore { DemoScore(evaluation?.runs.first) }
    public var blankScore: DemoScore { DemoScore(evaluation?.runs.first { $0.name == EvalAblation.blank.runName }) }
    public var pretrainScore: DemoScore { DemoScore(pretrainOnly?.runs.first) }
    /// Share of test images captioned exactly as their scene's caption.
    public var captionAccuracy: Double {
        guard let c = captions, let run = c.runs.first, !c.samples.isEmpty else { return 0 }
        return Double(zip(run.predictions, c.samples).filter { $0 == $1.references.first }.count) / Double(c.samples.count)
    }
    public var totalSeconds: Double { timings.reduce(0) { $0 + $1.seconds } }
    public var modelFolder: URL { scratch.modelFolder }
    public var report: URL { scratch.report }
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
        let start = monotonicSeconds()
        let files = try DemoDataGenerator.write(to: output.appendingPathComponent("data"), sizes: s.sizes, imageSize: s.imageSize,
                                                seed: s.seed, captionEvery: s.captionEvery, progress: progress)
        let dataSeconds = monotonicSeconds() - start
        let inputs = ScratchInputs(train: files.sft, images: files.images, captions: files.pretrain, validation: files.validation,
                                   test: files.test, testCaptions: files.testCaptions)
        let data = try ScratchData.load(inputs)
        if let bad = data.skipped.first { throw DemoError.skippedRows(file: bad.file, count: bad.count) }  // the demo's own bug

        let recipe = ScratchRecipe(settings: s.scratch)
        recipe.vision = DemoCellStage(scenes: files.scenes)
        recipe.progress = progress
        recipe.exampleQuestions = DemoLanguage.exampleQuestions
        recipe.title = "MiniMindV built-in demo"
        recipe.introduction = """
            A tiny vision-language model trained from scratch on synthetic shapes, in this order: BPE tokenizer, language \
            model on the text, CLIP-style vision encoder per grid cell (then frozen; 225 cell phrases: 25 contents × 9 \
            places), <b>pretrain recipe</b> (only the projector trains, on captions), <b>SFT recipe</b> (projector + \
            language model, on questions and answers). All questions below are about test images the model never saw. \
            \(s.sizes.train) training images.
            """
        let scratch = try recipe.run(data: data, output: output)
        return DemoResult(settings: s, scratch: scratch, dataSeconds: dataSeconds)
    }
}
