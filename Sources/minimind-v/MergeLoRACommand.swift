// `minimind-v merge-lora MODEL LORA OUT`: folds PEFT LoRA adapters into the weights
// (W + scale·B·A) and writes a normal model folder.
import ArgumentParser
import Foundation
import MiniMindV

struct MergeLoRACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge-lora",
        abstract: "Merge LoRA adapters (PEFT layout) into a model and write a normal model folder.",
        discussion: """
            MODEL is a MiniMindV model folder (config.json, model.safetensors, tokenizer files, vision/), LORA a
            PEFT adapter folder (adapter_config.json + adapter_model.safetensors, e.g. the --out of
            `minimind-v sft --lora-rank R`). Every adapted weight W becomes W + (alpha / r)·B·A; OUT loads like any
            model folder (chat, caption, eval, serve, convert) and needs no adapter. See Docs/Compression.md.
            """)

    @Argument(help: "The base model folder.")
    var model: String

    @Argument(help: "The LoRA adapter folder.")
    var lora: String

    @Argument(help: "The output model folder.")
    var out: String

    @Option(help: "How model.safetensors stores the merged weights: f32 (default), f16 or bf16.")
    var dtype: FloatStorage = .f32

    func run() throws {
        let url = { (path: String) in URL(fileURLWithPath: (path as NSString).expandingTildeInPath).standardizedFileURL }
        let (modelURL, outURL) = (url(model), url(out))
        if modelURL.path == outURL.path { throw ValidationError("OUT must differ from MODEL (\(modelURL.path)): the merge writes a new folder") }
        let bundle = try FlagAdvice.adding { try VLMBundle.load(folder: modelURL) }
        let config = try PEFTAdapter.load(folder: url(lora), into: bundle.model)
        let merged = try bundle.model.mergeLoRA()
        try bundle.save(to: outURL, tokenizerFiles: modelURL, dtype: dtype.dtype)
        print("merged \(merged.count) LoRA layers (r = \(config.rank), scale \(config.scale)) into \(outURL.path)")
    }
}
