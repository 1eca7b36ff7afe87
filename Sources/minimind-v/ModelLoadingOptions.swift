// Shared model flags: `--model DIR` (a MiniMindV model folder) or the upstream release layout
// (`--weights FILE --vision DIR --tokenizer DIR [--preset NAME]`). Used by chat, caption, forward.
import ArgumentParser
import Foundation
import MiniMindV

struct ModelLoadingOptions: ParsableArguments {
    @Option(name: .long, help: "A MiniMindV model folder (config.json, model.safetensors, tokenizer.json, vision/).")
    var model: String?

    @Option(name: .long, help: "Release weights (.pth / .safetensors, e.g. sft_vlm_512.pth; needs --vision and --tokenizer) or a model folder.")
    var weights: String?

    @Option(name: .long, help: "Vision encoder folder (Hugging Face CLIP/SigLIP layout) for --weights.")
    var vision: String?

    @Option(name: .long, help: "Tokenizer folder (tokenizer.json + tokenizer_config.json) for --weights.")
    var tokenizer: String?

    @Option(name: .long, help: "Preset of --weights (\(VLMPreset.allCases.map(\.rawValue).joined(separator: ", "))); default: inferred from the shapes.")
    var preset: String?

    func validate() throws {
        switch (model, weights) {
        case (nil, nil): throw ValidationError("give --model DIR, or --weights FILE with --vision DIR and --tokenizer DIR")
        case (.some, .some): throw ValidationError("give either --model or --weights, not both")
        case (nil, .some), (.some, nil): break  // a --weights file without --vision/--tokenizer is refused by load()
        }
        if let preset { _ = try VLMPreset.named(preset) }
    }

    @OptionGroup var computeOptions: ComputeOptions

    /// Loads the model, tokenizer and chat template (and sets the compute precision).
    func load() throws -> VLMBundle {
        computeOptions.apply()
        let url = { (path: String) in URL(fileURLWithPath: (path as NSString).expandingTildeInPath) }
        if let model { return try VLMBundle.load(folder: url(model)) }
        guard let weights else { throw ValidationError("give --model DIR, or --weights FILE with --vision DIR and --tokenizer DIR") }
        return try VLMBundle.load(path: url(weights), vision: vision.map(url), tokenizer: tokenizer.map(url),
                                  preset: try preset.map(VLMPreset.named))
    }
}

/// The sampling flags shared by chat and caption (defaults: upstream evaluation's settings).
struct SamplingFlags: ParsableArguments {
    @Option(name: .long, help: "Sampling temperature (0 = greedy).")
    var temperature: Float = 0.7

    @Option(name: .customLong("top-p"), help: "Nucleus sampling mass (1 = off).")
    var topP: Float = 0.85

    @Option(name: .customLong("top-k"), help: "Keep the k most likely tokens (0 = off).")
    var topK: Int = 50

    @Option(name: .customLong("repetition-penalty"), help: "Penalty for ids already in the sequence (1 = off).")
    var repetitionPenalty: Float = 1.0

    @Option(name: .long, help: "Random seed (default: a random one, printed with --stats).")
    var seed: UInt64?

    @Flag(name: .long, help: "Greedy decoding (argmax), deterministic.")
    var greedy = false

    @Option(name: .customLong("max-new-tokens"), help: "Most tokens to generate per answer.")
    var maxNewTokens = 512

    @Option(name: .customLong("stop"), help: "Stop when the answer contains this text (repeatable).")
    var stop: [String] = []

    @Option(name: .customLong("decode-dtype"), help: "Precision of the weights decode steps read: f32, bf16 (faster, small error) or int8 (fastest, larger error); see Docs/Generation.md.")
    var decodeDType: DecodeDType = .f32

    var options: SamplingOptions {
        SamplingOptions(temperature: temperature, topP: topP, topK: topK, repetitionPenalty: repetitionPenalty,
                        greedy: greedy, seed: seed, maxNewTokens: maxNewTokens, stopStrings: stop)
    }

    func validate() throws {
        do { try options.validate() } catch { throw ValidationError("\(error)") }
    }

}

/// `--decode-dtype f32|bf16|int8`: ArgumentParser checks the value and lists the choices.
extension DecodeDType: ExpressibleByArgument {}

extension ModelLoadingOptions {
    /// Loads the model for chat and caption with its decode weights packed as `--decode-dtype` asks;
    /// a model that cannot be loaded is reported on stderr and ends the command.
    func loadForGeneration(_ sampling: SamplingFlags) throws -> VLMBundle {
        let bundle: VLMBundle
        do { bundle = try load() } catch {
            printError("error: \(error)")
            throw ExitCode.failure
        }
        bundle.model.language.setDecodeDType(sampling.decodeDType)
        return bundle
    }
}

/// Writes to stderr (messages for people; stdout carries the answers).
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
