// `minimind-v compress prune`: structured pruning of feed-forward channels and attention heads.
import ArgumentParser
import Foundation
import MiniMindV

struct CompressPruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Remove the least important feed-forward channels and query heads, writing a smaller dense model folder.",
        discussion: """
            Every block keeps round(F × intermediate_size) channels and round(H × heads per KV group) query heads in
            each KV group (all key/value heads stay). Importance: weight norms (‖gate row‖·‖up row‖·‖down column‖,
            ‖q rows‖·‖o columns‖), or with --calibration the mean contribution of each channel and head on those
            samples. OUT is a model folder with its own config.json that chat, caption, eval, serve and convert load.
            --recover-steps N --recover-data FILE fine-tunes the pruned model (SFT recipe) before it is written; or
            distil it from MODEL afterwards with `minimind-v distill --teacher MODEL --student-config OUT/config.json
            --from-weights OUT/model.safetensors ...` (Docs/Compression.md). Dense models only (no MoE).
            """)

    @Argument(help: "Model folder to prune (config.json, model.safetensors, tokenizer, vision/).")
    var model: String

    @Argument(help: "Output model folder.")
    var out: String

    @Option(name: .customLong("ffn-keep"), help: "Share of feed-forward channels kept per block, in (0, 1].")
    var ffnKeep: Double = 1

    @Option(name: .customLong("heads-keep"), help: "Share of query heads kept per KV group, in (0, 1].")
    var headsKeep: Double = 1

    @Option(name: .long, help: "Calibration data (.parquet, or .jsonl with --images): importance from activations instead of weights.")
    var calibration: String?

    @Option(name: .long, help: "Image folder for .jsonl calibration data.")
    var images: String?

    @Option(name: .customLong("calibration-samples"), help: "Use the first N calibration rows (1…100000).")
    var calibrationSamples: Int = 64

    @OptionGroup(title: "Recovery fine-tune") var recovery: RecoveryOptions

    func validate() throws {
        try InputRange.check("--ffn-keep", ffnKeep, above: 0, upTo: 1)
        try InputRange.check("--heads-keep", headsKeep, above: 0, upTo: 1)
        try InputRange.check("--calibration-samples", calibrationSamples, in: 1...100_000)
        if images != nil && calibration == nil { throw ValidationError("--images applies to --calibration data") }
    }

    func run() throws {
        let url = { (path: String) in URL(fileURLWithPath: (path as NSString).expandingTildeInPath) }
        let source = url(model), target = url(out)
        guard source.standardizedFileURL != target.standardizedFileURL else {
            throw ValidationError("OUT must differ from MODEL (the folder is read while OUT is written)")
        }
        let bundle = try VLMBundle.load(folder: source)
        let importance: PruningImportance?
        if let calibration {
            let config = bundle.model.config
            let builder = SampleBuilder(tokenizer: bundle.tokenizer, template: bundle.template, config: config,
                                        maxSeqLen: min(config.language.maxPositionEmbeddings, 1024))
            let samples = ConversationSampleSource(dataset: try openConversationDataset(url(calibration), imageFolder: images.map(url)),
                                                   builder: builder, maxSamples: calibrationSamples)
            let warn = { (s: String) in FileHandle.standardError.write(Data((s + "\n").utf8)) }
            try samples.validate(strict: false, warn: warn)
            let features = VisionFeatureExtractor(encoder: bundle.model.vision, cache: nil)
            try features.prepare(samples, strict: false, warn: warn)
            let rows = try (0..<samples.count).map { try samples.sample($0, epoch: 0) }
            warn("calibration: \(rows.count) samples from \(calibration)")
            importance = try StructuredPruning.activationImportance(bundle.model, samples: rows, features: features)
        } else { importance = nil }
        let pruned = try StructuredPruning.prune(bundle.model, ffnKeep: ffnKeep, headsKeep: headsKeep, importance: importance)
        let result = try VLMBundle(model: pruned, tokenizer: bundle.tokenizer, generation: bundle.generation)
        try recovery.run(on: result)
        try result.save(to: target, tokenizerFiles: source)
        let before = bundle.model.parameterCount(), after = pruned.parameterCount()
        let (o, n) = (bundle.model.config.language, pruned.config.language)
        print("""
            pruned \(model) → \(out): intermediate_size \(o.intermediateSize) → \(n.intermediateSize), \
            heads \(o.numAttentionHeads) → \(n.numAttentionHeads) (KV heads \(n.numKeyValueHeads)); \
            parameters \(before) → \(after) (\(String(format: "%.1f", 100 * Double(after) / Double(before))) %), \
            importance from \(calibration == nil ? "weights" : "calibration activations")
            """)
    }
}
