// Shared model flags: `--model DIR` (a MiniMindV model folder) or the upstream release layout
// (`--weights FILE --vision DIR --tokenizer DIR [--preset NAME]`), plus `--lora DIR` (PEFT adapters).
// Used by chat, caption, eval, serve, forward.
import ArgumentParser
import Foundation
import MiniMindV

struct ModelLoadingOptions: ParsableArguments {
    @Option(name: .long, help: "A MiniMindV model folder (config.json, model.safetensors, tokenizer.json, vision/), or upstream's transformers folder (with --vision DIR for images).")
    var model: String?

    @Option(name: .long, help: "Release weights (.pth / .safetensors, e.g. sft_vlm_512.pth; needs --vision and --tokenizer) or a model folder.")
    var weights: String?

    @Option(name: .long, help: "Vision encoder folder (Hugging Face CLIP/SigLIP layout) for --weights or an upstream transformers folder; without it, text only.")
    var vision: String?

    @Option(name: .long, help: "Tokenizer folder (tokenizer.json + tokenizer_config.json) for --weights.")
    var tokenizer: String?

    @Option(name: .long, help: "LoRA adapters to apply: a PEFT folder (adapter_config.json + adapter_model.safetensors), e.g. the --out of `minimind-v sft --lora-rank R`.")
    var lora: String?

    @Option(name: .long, help: "Preset of --weights (\(VLMPreset.allCases.map(\.rawValue).joined(separator: ", "))); default: inferred from the shapes.")
    var preset: String?

    func validate() throws {
        switch (model, weights) {
        case (nil, nil): throw ValidationError("give --model DIR, or --weights FILE with --tokenizer DIR (and --vision DIR for images)")
        case (.some, .some): throw ValidationError("give either --model or --weights, not both")
        case (nil, .some), (.some, nil): break  // a --weights file without --vision/--tokenizer is refused by load()
        }
        if let preset { _ = try VLMPreset.named(preset) }
    }

    @OptionGroup var computeOptions: ComputeOptions

    /// Loads the model, tokenizer and chat template (and sets the compute precision), with the
    /// --lora adapters attached. Errors carry their flag advice (eval prints them itself).
    func load() throws -> VLMBundle {
        computeOptions.apply()
        return try FlagAdvice.adding {
            let bundle = try loadBase()
            if let lora {
                try PEFTAdapter.load(folder: URL(fileURLWithPath: (lora as NSString).expandingTildeInPath), into: bundle.model)
            }
            // --compute bf16: round each weight matrix once, not at every product that reads it.
            if Compute.effectivePrecision == .bf16 { bundle.model.storeBFloat16Weights() }
            return bundle
        }
    }

    private func loadBase() throws -> VLMBundle {
        let url = { (path: String) in URL(fileURLWithPath: (path as NSString).expandingTildeInPath) }
        // Upstream's transformers layout (model_type minimind-v) has no vision weights: --vision gives them.
        if let dir = (model ?? weights).map(url), TransformersVLMExport.isLayout(dir) {
            return try TransformersVLMExport.load(folder: dir, vision: vision.map(url), tokenizer: tokenizer.map(url))
        }
        if let model { return try VLMBundle.load(folder: url(model)) }
        guard let weights else { throw ValidationError("give --model DIR, or --weights FILE with --tokenizer DIR (and --vision DIR for images)") }
        return try VLMBundle.load(path: url(weights), vision: vision.map(url), tokenizer: tokenizer.map(url),
                                  preset: try preset.map(VLMPreset.named))
    }
}

/// The sampling flags shared by chat and caption. A flag not given takes the model folder's
/// generation_config.json value, else upstream evaluation's default.
struct SamplingFlags: ParsableArguments {
    @Option(name: .long, help: "Sampling temperature (0 = greedy; default: the model's generation_config.json, else 0.7).")
    var temperature: Float?

    @Option(name: .customLong("top-p"), help: "Nucleus sampling mass (1 = off; default: the model's, else 0.85).")
    var topP: Float?

    @Option(name: .customLong("top-k"), help: "Keep the k most likely tokens (0 = off; default: the model's, else 50).")
    var topK: Int?

    @Option(name: .customLong("repetition-penalty"), help: "Penalty for ids already in the sequence (1 = off; default: the model's, else 1).")
    var repetitionPenalty: Float?

    @Option(name: .long, help: "Random seed (default: a random one, printed with --stats).")
    var seed: UInt64?

    @Flag(name: .long, help: "Greedy decoding (argmax), deterministic (the default when the model's generation_config.json says do_sample false).")
    var greedy = false

    @Option(name: .customLong("max-new-tokens"), help: "Most tokens to generate per answer (default: the model's, else 512).")
    var maxNewTokens: Int?

    @Option(name: .customLong("stop"), help: "Stop when the answer contains this text (repeatable).")
    var stop: [String] = []

    @Option(name: .customLong("decode-dtype"), help: "Precision of the weights decode steps read: f32, bf16 (faster, small error) or int8 (fastest, larger error); see Docs/Generation.md.")
    var decodeDType: DecodeDType = .f32

    /// The options for `bundle`: its generation_config.json under the flags that were given.
    /// A model that samples by default still samples when --temperature is given.
    func options(for bundle: VLMBundle?) -> SamplingOptions {
        var o = bundle?.generation?.samplingOptions() ?? SamplingOptions()
        if let temperature { o.temperature = temperature; o.greedy = false }
        if let topP { o.topP = topP }
        if let topK { o.topK = topK }
        if let repetitionPenalty { o.repetitionPenalty = repetitionPenalty }
        if let maxNewTokens { o.maxNewTokens = maxNewTokens }
        if greedy { o.greedy = true }
        o.seed = seed
        o.stopStrings = stop
        return o
    }


}

/// `--decode-dtype f32|bf16|int8`: ArgumentParser checks the value and lists the choices.
extension DecodeDType: ExpressibleByArgument {}

extension ModelLoadingOptions {
    /// Loads the model for chat and caption with its decode weights packed as `--decode-dtype` asks;
    /// a model that cannot be loaded is reported on stderr and ends the command.
    func loadForGeneration(_ sampling: SamplingFlags) throws -> VLMBundle {
        // Checked in run() rather than validate(): a typed error naming the flag and its range, exit status 1.
        try sampling.options(for: nil).validate()
        let bundle: VLMBundle
        do { bundle = try load() } catch {
            printError("error: \(error)")
            throw ExitCode.failure
        }
        // The folder's generation_config.json values are numbers from outside too.
        try sampling.options(for: bundle).validate()
        bundle.model.language.setDecodeDType(sampling.decodeDType)
        return bundle
    }
}

/// Writes to stderr (messages for people; stdout carries the answers).
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
