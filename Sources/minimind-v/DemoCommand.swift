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

    func run() throws {
        let settings = quick ? DemoSettings.quick(seed: seed) : DemoSettings.full(seed: seed)
        let output = URL(fileURLWithPath: out).standardizedFileURL
        let result: DemoResult
        do {
            result = try DemoPipeline.run(settings: settings, output: output, progress: .stderr())
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode.failure
        }
        print(DemoSummary.text(result))
    }
}
