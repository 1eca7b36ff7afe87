// `minimind-v demo`: trains a tiny VLM from scratch on synthetic shapes and answers questions about
// unseen images; progress on stderr, a summary on stdout, report and model folder in --out.
import ArgumentParser
import Foundation
import MiniMindV
import MiniMindVDemo

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Train a tiny vision-language model from scratch on synthetic images and test it on unseen ones.",
        discussion: """
            Stages: synthetic shapes data (JSONL + PNG folder) → BPE tokenizer → language model → CLIP-style \
            vision encoder (then frozen) → pretrain recipe (projector only, captions) → SFT recipe (projector + \
            language model, questions and captions) → exact-match accuracy on the test split (the eval \
            module), also with a blank image and before SFT. Writes DIR/report.html and a model folder \
            DIR/model that `minimind-v chat` loads.
            """)

    @Flag(name: .long, help: "A smaller run (under a minute) with lower accuracy.")
    var quick = false

    @Option(name: .long, help: "Output folder (data, tokenizer, model, report.html).")
    var out = "demo-out"

    @Option(name: .long, help: "Seed for data and initialisation.")
    var seed: UInt64 = 42

    // A wider or deeper language model on the same data and steps (e.g. to measure LoRA where rank
    // has room: Docs/Compression.md); the default is the demo's 64 × 2 with 4 heads.
    @Option(name: .long, help: "Language model width (default 64).") var lmHidden: Int?
    @Option(name: .long, help: "Language model layers (default 2).") var lmLayers: Int?
    @Option(name: .long, help: "Language model attention heads (default 4).") var lmHeads: Int?

    func run() throws {
        var settings = quick ? DemoSettings.quick(seed: seed) : DemoSettings.full(seed: seed)
        if let lmHidden { settings.lmHidden = lmHidden }
        if let lmLayers { settings.lmLayers = lmLayers }
        if let lmHeads { settings.lmHeads = lmHeads }
        let output = URL(fileURLWithPath: out).standardizedFileURL
        let result: DemoResult
        do {
            try settings.scratch.validate()  // before any data is written; errors name the setting and its flag
            result = try DemoPipeline.run(settings: settings, output: output, progress: .stderr())
        } catch {
            FileHandle.standardError.write(Data("error: \(FlagAdvice(underlying: error))\n".utf8))
            throw ExitCode.failure
        }
        print(DemoSummary.text(result))
    }
}
