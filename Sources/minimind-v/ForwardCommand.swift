import ArgumentParser
import Foundation
import MiniMindV

struct ForwardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forward",
        abstract: "Run one forward pass and dump the logits of every position (the scriptable way to check numbers).",
        discussion: """
        Without --raw the prompt is one user turn rendered with the chat template and the generation prompt,
        with <image> expanded to the model's placeholder; with --raw it is tokenised as is.
        Logits are float32 [tokens, vocab].
        """)

    @OptionGroup var source: ModelLoadingOptions

    @Option(help: "An image; repeat for several (in prompt order).")
    var image: [String] = []

    @Option(help: "The prompt; write <image> where each image goes.")
    var prompt: String

    @Flag(help: "Tokenise the prompt as is (no chat template, no <image> expansion).")
    var raw = false

    @Option(help: "Where to write the logits (.npy, float32 [tokens, vocab]).")
    var dumpLogits: String

    @Option(help: "Where to write the token ids (.npy, int64).")
    var dumpIds: String?

    func run() throws {
        let bundle = try source.load()
        let model = bundle.model
        var text = prompt
        if !raw {
            text = expandImagePlaceholders(text, placeholder: model.config.imagePlaceholder, count: model.config.imageTokens,
                                           marker: model.config.imageMarker)
            text = try bundle.template.render([.user(text)], options: ChatTemplateOptions(addGenerationPrompt: true))
        }
        let ids = bundle.tokenizer.encode(text)
        guard !ids.isEmpty else { throw ValidationError("the prompt tokenises to no tokens") }
        guard ids.count <= model.config.language.maxPositionEmbeddings else {
            throw ValidationError("the prompt has \(ids.count) tokens, more than the model's \(model.config.language.maxPositionEmbeddings) positions")
        }
        let logits = try noGrad { () throws -> Tensor in
            guard !image.isEmpty else { return model.logits(ids: ids) }
            let images = try image.map { try RGBImage(contentsOf: URL(fileURLWithPath: $0)) }
            let pixels = try model.preprocess(images)
            let projected = model.project(model.visionFeatures(pixels))
            return model.logits(ids: ids, images: projected, imagesPerSample: [Array(0..<images.count)])
        }
        try NPYFile.write(logits.reshaped([ids.count, model.config.language.vocabSize]), to: URL(fileURLWithPath: dumpLogits))
        if let dumpIds {
            try NPYFile.write(try TensorData(int64s: ids.map { Int64($0) }, shape: [ids.count]), to: URL(fileURLWithPath: dumpIds))
        }
        FileHandle.standardError.write(Data("\(ids.count) tokens, logits [\(ids.count), \(model.config.language.vocabSize)] → \(dumpLogits)\n".utf8))
    }
}
