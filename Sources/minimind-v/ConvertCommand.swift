import ArgumentParser
import Foundation
import MiniMindV

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert weights between .pth, safetensors and a model folder, without changing the model.",
        discussion: """
        OUT ending in .pth/.pt/.bin writes a torch.save file (torch.load(..., weights_only=True) reads it);
        .safetensors writes safetensors; anything else is a folder: config.json + model.safetensors, and with
        a vision and tokenizer folder a complete MiniMindV model folder (`minimind-v chat --model OUT`).
        A model folder as input keeps its own config.json, vision/ and tokenizer files. Weights without a
        config (.pth) take the preset their shapes describe, or --preset / --config; a preset or config that
        contradicts the weights is refused, and so are weights whose head count their shapes leave open.
        --format gguf (or OUT ending in .gguf) writes the language model for llama.cpp / Ollama with the
        tokenizer and chat template (--type f32, f16, q8_0 or q4_0). --format transformers writes upstream
        MiniMind-V's transformers folder (config.json with model_type minimind-v and auto_map, model.safetensors
        with the decoder and projector, tokenizer, generation_config.json; no vision weights: chat/caption/serve
        load it with --model OUT --vision DIR). --quantize int8|int4 writes a quantised model folder: the attention
        and feed-forward weights as int8 (one scale per output channel) or int4 (one scale per 32 values), loaded
        straight into the packed decode path by chat, caption, eval and serve. See Docs/Formats.md.
        """)

    @Argument(help: "Input: .pth/.bin, .safetensors, sharded index, or a folder.")
    var input: String

    @Argument(help: "Output file or folder.")
    var output: String

    @Option(help: "Convert floating-point tensors to f16, bf16 or f32 (default: keep the source's dtype).")
    var dtype: FloatStorage?

    @Option(help: "The preset of weights without a config (\(VLMPreset.allCases.map(\.rawValue).joined(separator: ", "))); must agree with the weights.")
    var preset: String?

    @Option(help: "The config.json of weights without one (a MiniMindV model folder's config.json).")
    var config: String?

    @Option(help: "Vision encoder folder to include (model-folder output; default: the input folder's vision/).")
    var vision: String?

    @Option(help: "Tokenizer folder to include (model-folder output; default: the input folder's tokenizer files).")
    var tokenizer: String?

    @Option(help: "Output format: auto (from OUT's name), folder, weights, gguf, transformers (upstream's MiniMind-V folder) or transformers-lm (the language model as a LlamaForCausalLM / Qwen3ForCausalLM folder).")
    var format: String = "auto"

    @Option(help: "GGUF weight type: f32, f16, q8_0 or q4_0 (norms stay f32).")
    var type: String?

    @Option(help: "Quantise the attention and feed-forward weights of a model folder: int8 (per output channel) or int4 (groups of 32).")
    var quantize: WeightQuantization.Scheme?

    @Option(name: .customLong("scale-dtype"), help: "Storage of the quantisation scales: f32 or f16 (default: f32 for int8, f16 for int4).")
    var scaleDType: ScaleStorage?

    func validate() throws {
        if scaleDType != nil && quantize == nil { throw ValidationError("--scale-dtype applies to --quantize") }
        if quantize != nil && !["auto", "folder"].contains(format) { throw ValidationError("--quantize writes a model folder (--format folder)") }
        guard ["auto", "folder", "weights", "gguf", "transformers", "transformers-lm"].contains(format) else {
            throw ValidationError("--format must be auto, folder, weights, gguf, transformers or transformers-lm (got \(format))")
        }
        if let type, GGUFExport.WeightType(rawValue: type) == nil {
            throw ValidationError("--type must be f32, f16, q8_0 or q4_0 (got \(type))")
        }
        let isGGUF = format == "gguf" || (format == "auto" && output.lowercased().hasSuffix(".gguf"))
        if type != nil && !isGGUF { throw ValidationError("--type applies to GGUF output (--format gguf)") }
        if let preset { _ = try VLMPreset.named(preset) }
        if preset != nil && config != nil { throw ValidationError("give --preset or --config, not both") }
    }

    func run() throws {
        let url = { (path: String) in URL(fileURLWithPath: (path as NSString).expandingTildeInPath) }
        let ggufType: GGUFExport.WeightType? = format == "gguf" || (format == "auto" && output.lowercased().hasSuffix(".gguf"))
            ? GGUFExport.WeightType(rawValue: type ?? "f32") : nil
        let layout: ModelConversion.Output? = format == "folder" ? .modelFolder : format == "weights" ? .weightsFile
            : format == "transformers-lm" ? .transformersLM : format == "transformers" ? .transformers : nil
        var conversion = ModelConversion(input: url(input), output: url(output), dtype: dtype?.dtype,
                                         preset: try preset.map(VLMPreset.named), configFile: config.map(url),
                                         vision: vision.map(url), tokenizer: tokenizer.map(url),
                                         gguf: ggufType, layout: quantize != nil ? .modelFolder : layout)
        conversion.quantize = quantize.map { WeightQuantization($0, scaleDType: scaleDType?.dtype) }
        print(try conversion.run())
    }
}
