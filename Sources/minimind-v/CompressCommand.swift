import ArgumentParser
import Foundation
import MiniMindV

/// `minimind-v compress`: write a smaller model folder from a model folder (Docs/Compression.md).
struct CompressCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compress",
        abstract: "Write a smaller model folder: low-rank factors of linear layers, or pruned channels and heads.",
        // One subcommand a line, so that adding one is a one-line change.
        subcommands: [
            CompressLowRankCommand.self,
            CompressPruneCommand.self,
        ])
}

struct CompressLowRankCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lowrank",
        abstract: "Replace linear weights by two factors from their SVD (LAPACKE sgesdd).",
        discussion: """
        Each chosen W [out, in] becomes up [out, r] · down [r, in], keeping its r largest singular values
        (--rank R, or --energy E: the fewest whose squares reach the share E of the total; 1.0 keeps W exactly).
        The folder's config.json records the factorised layers (lowRank); chat, caption, eval, serve and forward
        load it. The factors are trainable layers: --recover-steps N --recover-data FILE fine-tunes the factorised
        model (SFT recipe: projector + whole language model, factors included) before it is written.
        """)

    @Argument(help: "A MiniMindV model folder (float weights).")
    var model: String

    @Argument(help: "Output model folder.")
    var output: String

    @Option(help: "Singular values kept per layer (at most min(in, out)).")
    var rank: Int?

    @Option(help: "Share of the squared singular values kept per layer, 0 < E ≤ 1.")
    var energy: Double?

    @Option(help: "Layers to factorise, comma-separated key patterns (e.g. 'model.layers.*.mlp'); default: every attention and feed-forward layer.")
    var layers: String?

    @Option(help: "Storage of the float tensors: f32, f16 or bf16 (default f32).")
    var dtype: FloatStorage = .f32

    @OptionGroup(title: "Recovery fine-tune") var recovery: RecoveryOptions

    func validate() throws {
        switch (rank, energy) {
        case (nil, nil), (.some, .some): throw ValidationError("give --rank R or --energy E (one of them)")
        default: break
        }
        if let rank { try InputRange.check("--rank", rank, in: 1...Int(Int32.max)) }
        if let energy { try InputRange.check("--energy", energy, above: 0, upTo: 1) }
    }

    func run() throws {
        let url = { (path: String) in URL(fileURLWithPath: (path as NSString).expandingTildeInPath) }
        let patterns = try (layers ?? "").split(separator: ",").map { try KeyPattern(String($0).trimmingCharacters(in: .whitespaces)) }
        let compression = try LowRankCompression(target: rank.map { LowRankCompression.Target.rank($0) } ?? .energy(energy ?? 1), layers: patterns)
        let bundle = try VLMBundle.load(folder: url(model))
        let lm = try bundle.model.language.capability((any CompressibleLanguageModel).self, for: "low-rank compression")
        let before = lm.parameterCount()
        let reports = try compression.apply(to: lm)
        for r in reports {
            print("\(r.path): rank \(r.rank), \(r.parametersBefore) → \(r.parametersAfter) parameters, \(String(format: "%.4f", r.energyKept)) of Σσ² kept")
        }
        try recovery.run(on: bundle)
        try bundle.save(to: url(output), tokenizerFiles: url(model), dtype: dtype.dtype)
        let after = lm.parameterCount()
        print("wrote \(output): \(reports.count) layers factorised, \(before) → \(after) language-model parameters (\(String(format: "%.1f", 100 * Double(after) / Double(max(before, 1)))) %)")
    }
}
