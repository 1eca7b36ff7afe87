import ArgumentParser
import Foundation
import MiniMindV
import MiniMindVBench

/// `minimind-v bench train`: training speed of a preset with random weights (Docs/Performance.md,
/// "Training"); Scripts/bench_torch_train.py runs the same measurements in PyTorch.
struct TrainBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Training speed: one optimizer step on a padded batch (step), or a recipe on mixed lengths (recipe).",
        discussion: """
            step: forward + backward + grad clip + AdamW on --batch samples of exactly --length inputs, mean ± stddev \
            and each step's seconds after --warmup steps (default 2: the second step still grows the buffer pool). recipe: --samples synthetic samples of mixed lengths, --epochs epochs, batches cut to the \
            longest sample (or --pad-to-max), optionally length-bucketed, vision features cached (the one-time encoder pass is timed separately). \
            --write-weights PATH saves the random model (safetensors) for Scripts/bench_torch_train.py.
            """)

    @Argument(help: "step or recipe.")
    var mode: String = "step"

    @Option(help: "Trainable set: pretrain or sft (the preset's upstream freeze policy).")
    var stage: String = "sft"

    @Option(help: "Samples per batch.")
    var batch: Int = 4

    @Option(help: "step: input positions per sample. recipe: max sequence length.")
    var length: Int = 640

    @Option(help: "recipe: number of samples.")
    var samples: Int = 64

    @Option(help: "recipe: epochs (upstream: pretrain 4, SFT 2 for MiniMind2-V).")
    var epochs: Int = 1

    @Option(help: "recipe: text tokens after the image, MIN-MAX, uniform (default: 7 up to --length).")
    var text: String?

    @Option(help: "recipe: the first N text tokens are an uncounted prompt (label -100).")
    var promptTokens: Int = 0

    @Option(help: "recipe: sort each window of N batches by length (TrainingRecipe.lengthBuckets).")
    var lengthBuckets: Int?

    @OptionGroup var options: BenchRunOptions

    @Option(help: "recipe: start from these release weights (e.g. the file written by --write-weights).")
    var weights: String?

    @Option(help: "Write the preset's random weights (float32 safetensors) to this path and exit.")
    var writeWeights: String?

    @Flag(help: "recipe: pad every batch to --length as upstream does.")
    var padToMax = false

    @Flag(help: "recipe: skip the one-time vision-encoder pass.")
    var noEncoder = false

    func run() throws {
        let p = try options.modelPreset()
        guard let st = TrainingRecipe.Stage(rawValue: stage) else { throw ValidationError("--stage must be pretrain or sft, found \(stage)") }
        guard batch > 0, length > 1, samples > 0, epochs > 0, promptTokens >= 0 else {
            throw ValidationError("--batch, --samples, --epochs must be positive, --length > 1, --prompt-tokens ≥ 0")
        }
        var textTokens: ClosedRange<Int>?
        if let text {
            let parts = text.split(separator: "-").compactMap { Int($0) }
            guard parts.count == 2, parts[0] >= 1, parts[0] <= parts[1] else {
                throw ValidationError("--text must be MIN-MAX with 1 ≤ MIN ≤ MAX, found \(text)")
            }
            textTokens = parts[0]...parts[1]
        }
        try options.apply()
        if let writeWeights {
            try TrainingBenchmark.writeWeights(preset: p, seed: options.seed, to: URL(fileURLWithPath: writeWeights))
            print("wrote \(writeWeights)")
            return
        }
        if !options.json { print(ComputeReport.current.summary) }
        switch mode {
        case "step":
            let r = try TrainingBenchmark.step(preset: p, stage: st, batch: batch, length: length,
                                               warmup: options.warmup ?? 2, repetitions: options.repetitions, seed: options.seed)
            if options.json { try printJSON(r); return }
            print("\(p.rawValue) \(r.stage) step \(r.batch)×\(r.length) (\(r.trainableParameters) trainable), \(r.threads) threads: "
                  + String(format: "%.3f ± %.3f s", r.step.meanSeconds, r.step.stddevSeconds) + " (n=\(r.step.repetitions): "
                  + r.step.samplesSeconds.map { String(format: "%.3f", $0) }.joined(separator: " ") + ")")
        case "recipe":
            let r = try TrainingBenchmark.recipeRun(preset: p, stage: st, samples: samples, epochs: epochs, batch: batch,
                                                    maxSeqLen: length,
                                                    shape: .init(textTokens: textTokens, promptTokens: promptTokens),
                                                    padToMaxLength: padToMax, lengthBuckets: lengthBuckets,
                                                    weights: weights.map { URL(fileURLWithPath: $0) },
                                                    encoder: !noEncoder, seed: options.seed)
            if options.json { try printJSON(r); return }
            print("\(p.rawValue) \(r.stage) recipe \(r.samples) samples × \(r.epochs) epochs, batch \(r.batch), max \(r.maxSeqLen)"
                  + (r.padToMaxLength ? " (padded)" : "") + (r.lengthBuckets.map { ", length buckets \($0)" } ?? "")
                  + ", \(r.threads) threads: "
                  + String(format: "encoder %.2f s + train %.2f s = %.2f s", r.encoderSeconds, r.trainSeconds, r.encoderSeconds + r.trainSeconds)
                  + ", \(r.realTokens) real tokens")
            print("losses: " + r.losses.map { String(format: "%.6f", $0) }.joined(separator: " "))
        default:
            throw ValidationError("mode must be step or recipe, found \(mode)")
        }
    }
}
