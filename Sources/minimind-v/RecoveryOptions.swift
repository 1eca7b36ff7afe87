// `--recover-steps N --recover-data FILE …`: the short fine-tune every `compress` subcommand can run
// on its compressed model before writing it (`CompressionRecovery`, Docs/Compression.md).
import ArgumentParser
import Foundation
import MiniMindV

struct RecoveryOptions: ParsableArguments {
    @Option(name: .customLong("recover-steps"), help: "Fine-tune the compressed model for N optimizer steps (the SFT recipe: projector + whole language model) before writing it; needs --recover-data.")
    var steps: Int?

    @Option(name: .customLong("recover-data"), help: "Recovery training data: .parquet, or .jsonl with --recover-images.")
    var data: String?

    @Option(name: .customLong("recover-images"), help: "Image folder for .jsonl recovery data.")
    var images: String?

    @Option(name: .customLong("recover-lr"), help: "Recovery learning rate, in (0, 1] (default: the model's SFT recipe's).")
    var lr: Double?

    @Option(name: .customLong("recover-batch-size"), help: "Recovery samples per step (default: the SFT recipe's).")
    var batchSize: Int?

    @Option(name: .customLong("recover-max-seq-len"), help: "Truncate recovery samples to this many tokens (default: the SFT recipe's, at most the model's positions).")
    var maxSeqLen: Int?

    @Option(name: .customLong("recover-seed"), help: "Seed of the recovery's data order.")
    var seed: UInt64 = 42

    /// The recovery asked for (nil: no --recover-steps).
    var recovery: CompressionRecovery? {
        steps.map { CompressionRecovery(steps: $0, learningRate: lr, batchSize: batchSize, maxSeqLen: maxSeqLen, seed: seed) }
    }

    func validate() throws {
        if let recovery {
            try FlagAdvice.adding { try recovery.validate() }  // ArgumentParser shows the advised error
            if data == nil { throw ValidationError("--recover-steps needs --recover-data") }
        } else if data != nil || images != nil || lr != nil || batchSize != nil || maxSeqLen != nil {
            throw ValidationError("the --recover-* options need --recover-steps")
        }
    }

    /// Runs the recovery on `bundle.model` when one was asked for, with progress lines on stderr.
    func run(on bundle: VLMBundle) throws {
        guard let recovery, let data else { return }
        let url = { (path: String) in URL(fileURLWithPath: (path as NSString).expandingTildeInPath) }
        let dataset = try openConversationDataset(url(data), imageFolder: images.map(url))
        let log = { (s: String) in FileHandle.standardError.write(Data((s + "\n").utf8)) }
        log("recovery: \(recovery.steps) steps on \(dataset.count) rows from \(data)")
        let summary = try recovery.run(bundle, data: dataset, callbacks: [ProgressLineCallback(interval: 10)], warn: log)
        if let first = summary.losses.first, let last = summary.losses.last {
            log(String(format: "recovery: loss %.4f at step 1 → %.4f at step %d (%.1f s)", first, last, summary.steps, summary.seconds))
        }
    }
}
