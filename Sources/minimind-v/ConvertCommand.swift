import ArgumentParser
import Foundation
import MiniMindV

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert weights between .pth, safetensors and a model folder.",
        discussion: """
        OUT ending in .pth/.pt/.bin writes a torch.save file (torch.load(..., weights_only=True) reads it);
        .safetensors writes safetensors; anything else is a folder: config.json + model.safetensors, and with
        --vision and --tokenizer a complete MiniMindV model folder (`minimind-v chat --model OUT`).
        """)

    @Argument(help: "Input: .pth/.bin, .safetensors, sharded index, or a folder.")
    var input: String

    @Argument(help: "Output file or folder.")
    var output: String

    @Option(help: "Convert floating-point tensors to f16, bf16 or f32 (default: keep each tensor's dtype).")
    var dtype: String?

    @Option(help: "A preset for the folder's config.json (default: inferred from the weights).")
    var preset: String?

    @Option(help: "Vision encoder folder to include (model-folder output).")
    var vision: String?

    @Option(help: "Tokenizer folder to include (model-folder output).")
    var tokenizer: String?

    func validate() throws {
        if let dtype, !["f16", "bf16", "f32"].contains(dtype) { throw ValidationError("--dtype must be f16, bf16 or f32") }
        if (vision == nil) != (tokenizer == nil) { throw ValidationError("--vision and --tokenizer go together") }
    }

    func run() throws {
        var state = try Weights.read(URL(fileURLWithPath: input))
        if let dtype {
            let target: DType = dtype == "f16" ? .f16 : dtype == "bf16" ? .bf16 : .f32
            for (name, t) in state.entries where [.f32, .f16, .bf16, .f64].contains(t.dtype) {
                state[name] = try t.converted(to: target)
            }
        }
        let out = URL(fileURLWithPath: output)
        if ["pth", "pt", "bin", "ckpt", "safetensors"].contains(out.pathExtension.lowercased()) {
            try Checkpoint.save(state, to: out)
            print("wrote \(out.path): \(state.count) tensors")
            return
        }
        try writeFolder(state, to: out)
    }

    private func writeFolder(_ state: StateDict, to out: URL) throws {
        var config = try preset.map { try VLMPreset.named($0).config } ?? ConfigInference.vlm(from: Weights.shapes(state))
        if let vision, let tokenizer {
            let encoder = try ViTVisionEncoder.load(folder: URL(fileURLWithPath: vision))
            config.vision = encoder.config
            let model = try MiniMindVLM(config: config, language: try MiniMindLM(config: config.language),
                                        projector: MiniMindVLM.makeProjector(config, seed: 0), vision: encoder)
            try model.loadReleaseWeights(state)
            let bundle = try VLMBundle(model: model, tokenizer: try Tokenizer(contentsOf: URL(fileURLWithPath: tokenizer)))
            try bundle.save(to: out, tokenizerFiles: URL(fileURLWithPath: tokenizer))
            print("wrote model folder \(out.path)")
            return
        }
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(config).write(to: out.appendingPathComponent("config.json"), options: .atomic)
        try Safetensors.write(state, to: out.appendingPathComponent("model.safetensors"))
        print("wrote \(out.path)/config.json and model.safetensors (\(state.count) tensors); add --vision and --tokenizer for a complete model folder")
    }
}
