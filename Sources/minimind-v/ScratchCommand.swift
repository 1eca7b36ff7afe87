// `minimind-v scratch`: trains a small vision-language model from nothing on your own data
// (`ScratchRecipe`); progress on stderr, a summary on stdout; DIR/model, DIR/report.html,
// DIR/metrics.json and DIR/checkpoints in --out.
import ArgumentParser
import Foundation
import MiniMindV

struct ScratchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scratch",
        abstract: "Train a small vision-language model from scratch on your own images and conversations.",
        discussion: """
            Stages: BPE tokenizer on the text → language model on the text → contrastive vision encoder (then \
            frozen) → pretrain recipe (projector only) → SFT recipe (projector + language model) → exact-match \
            accuracy on the test questions, also with a blank image and after pretraining only. Data: JSONL + \
            --images folder, or upstream Parquet; one image per row. Without --captions the stages derive their \
            text from the conversations. Docs/Scratch.md.
            """)

    @Option(name: .long, help: "Training conversations (.jsonl with --images, or .parquet).") var train: String
    @Option(name: .long, help: "Image folder of the JSONL files.") var images: String?
    @Option(name: .long, help: "Image–caption rows for the pretrain and vision stages (optional).") var captions: String?
    @Option(name: .long, help: "Held-out conversations: SFT validation loss.") var validation: String?
    @Option(name: .long, help: "Test questions (a row's \"type\" scores per type); default: a tenth of --train held out.") var test: String?
    @Option(name: .long, help: "Caption questions about test images, scored by caption metrics.") var testCaptions: String?
    @Option(name: .long, help: "Output folder.") var out: String
    @Option(name: .long, help: "Preset: tiny, small or base.") var size = "tiny"
    @Option(name: .long, help: "Fit the stages into this many minutes (measured step rates).") var timeBudget: Double?
    @Option(name: .long, help: "Steps of the four stages: LM,VISION,PRETRAIN,SFT (as a budgeted run prints them).") var steps: String?
    @Option(name: .long, help: "Seed for initialisation and data order.") var seed: UInt64 = 42
    @Option(name: .long, help: "Compute threads (fixed, so results repeat).") var threads: Int = 2
    @Flag(name: .long, help: "Continue from --out's checkpoints after an interruption.") var resume = false
    @Option(name: .long, help: "Vocabulary cap.") var vocabSize: Int?
    @Option(name: .long, help: "Vision input size (default: from the images).") var imageSize: Int?
    @Option(name: .long, help: "Patch size (default: image size / the preset's grid).") var patchSize: Int?
    @Option(name: .long, help: "Language model width.") var lmHidden: Int?
    @Option(name: .long, help: "Language model layers.") var lmLayers: Int?
    @Option(name: .long, help: "Language model attention heads.") var lmHeads: Int?
    @Option(name: .long, help: "Vision tower width.") var visionHidden: Int?
    @Option(name: .long, help: "Vision tower layers.") var visionLayers: Int?
    @Option(name: .long, help: "Language model positions (default: longest sample + room).") var maxSeqLen: Int?
    @Option(name: .long, help: "Batch size of the language model, pretrain and SFT stages.") var batchSize: Int?
    @Option(name: .long, help: "Answer budget of the evaluation (default: longest test answer + 2 tokens).") var answerTokens: Int?

    func settings() throws -> ScratchSettings {
        guard let preset = ScratchSize(rawValue: size) else {
            throw InputRangeError(field: "--size", value: size, allowed: ScratchSize.allCases.map(\.rawValue).joined(separator: ", "))
        }
        var s = ScratchSettings.preset(preset, seed: seed)
        s.threads = threads
        if let vocabSize { s.vocabSize = vocabSize }
        s.imageSize = imageSize
        s.patchSize = patchSize
        if let lmHidden { s.lmHidden = lmHidden }
        if let lmLayers { s.lmLayers = lmLayers }
        if let lmHeads { s.lmHeads = lmHeads }
        if let visionHidden { s.visionHidden = visionHidden }
        if let visionLayers { s.visionLayers = visionLayers }
        s.maxPositions = maxSeqLen
        s.answerTokens = answerTokens
        if let batchSize { s.text.batch = batchSize; s.pretrain.batch = batchSize; s.sft.batch = batchSize }
        if let steps {
            let parts = steps.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 4, parts.allSatisfy({ $0 != nil }) else {
                throw InputRangeError(field: "--steps", value: steps, allowed: "four whole numbers LM,VISION,PRETRAIN,SFT, e.g. 200,300,200,1500")
            }
            s.steps = parts.compactMap { $0 }
            if timeBudget != nil {
                throw InputRangeError(field: "--time-budget", value: "\(timeBudget ?? 0)", allowed: "not with --steps (the budget chooses the steps)")
            }
        }
        s.timeBudgetMinutes = timeBudget
        try s.validate()
        return s
    }

    func run() throws {
        func url(_ path: String?) -> URL? { path.map { URL(fileURLWithPath: $0).standardizedFileURL } }
        do {
            let recipe = ScratchRecipe(settings: try settings())
            recipe.progress = .stderr()
            recipe.resume = resume
            InterruptCallback.install()
            recipe.callbacks = [InterruptCallback()]
            let inputs = ScratchInputs(train: URL(fileURLWithPath: train).standardizedFileURL, images: url(images), captions: url(captions),
                                       validation: url(validation), test: url(test), testCaptions: url(testCaptions))
            let result = try recipe.run(inputs, output: URL(fileURLWithPath: out).standardizedFileURL)
            print(ScratchSummary.text(result))
        } catch {
            FileHandle.standardError.write(Data("error: \(FlagAdvice.advising(error))\n".utf8))
            throw ExitCode.failure
        }
    }
}

enum ScratchSummary {
    static func text(_ r: ScratchResult) -> String {
        func pct(_ x: Double?) -> String { x.map { String(format: "%5.1f%%", 100 * $0) } ?? "    –" }
        var s = String(format: "MiniMindV from scratch (seed %llu, %.1f s)\n", r.settings.seed, r.totalSeconds)
        s += "question type   after SFT   image blanked   pretrain only   most common answer\n"
        for t in r.types {
            s += t.padding(toLength: 16, withPad: " ", startingAt: 0)
            s += "\(pct(r.accuracy(t, in: r.evaluation)))      \(pct(r.accuracy(t, in: r.evaluation, run: EvalAblation.blank.runName)))"
            s += "          \(pct(r.accuracy(t, in: r.pretrainOnly)))          \(pct(r.majorityShare(t)))\n"
        }
        s += "all             \(pct(r.accuracy))      \(pct(r.blankAccuracy))          \(pct(r.pretrainAccuracy))\n"
        s += "steps: \(r.stepsFlag)\n"
        s += "report:  \(r.report.path)\nmetrics: \(r.metrics.path)\nmodel:   \(r.modelFolder.path)\n"
        s += "try:     minimind-v chat --model \(r.modelFolder.path) --image IMAGE"
        return s
    }
}
