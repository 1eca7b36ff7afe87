import ArgumentParser
import Foundation
import MiniMindV

struct ForwardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forward",
        abstract: "Run one forward pass and dump the logits of every position (the scriptable way to check numbers).",
        discussion: """
        Without --raw the prompt is one user turn assembled as every prompt is (Docs/Model.md, "Assembling a
        prompt": <image> expanded to the model's placeholder, images without a marker in front of the text,
        the chat template with the generation prompt); with --raw it is tokenised as is.
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

    @Option(help: "Where to write the token ids (.npy, int64); must differ from --dump-logits.")
    var dumpIds: String?

    func run() throws {
        // Both outputs are checked before any work: one path for both would lose the logits.
        let logitsURL = URL(fileURLWithPath: dumpLogits).standardizedFileURL
        let idsURL = dumpIds.map { URL(fileURLWithPath: $0).standardizedFileURL }
        if let idsURL, idsURL.resolvingSymlinksInPath().path == logitsURL.resolvingSymlinksInPath().path {
            throw OutputPathError.samePath(option1: "--dump-logits", option2: "--dump-ids", path: dumpLogits)
        }
        for (option, url) in [("--dump-logits", logitsURL)] + (idsURL.map { [("--dump-ids", $0)] } ?? []) {
            try OutputPathError.checkWritable(option: option, url: url)
        }
        let bundle = try source.load()
        let model = bundle.model
        let generator = Generator(bundle: bundle)
        // Every <image> needs an image and every image an <image> (PromptError): nothing is dropped silently.
        let images = try image.map { PromptImage.image(try RGBImage(contentsOf: URL(fileURLWithPath: $0))) }
        let assembled = try raw ? generator.assembler.tokenize(prompt, images: images) : generator.chatPrompt(prompt, images: images)
        let ids = assembled.ids
        guard !ids.isEmpty else { throw GenerationError.emptyPrompt }
        guard ids.count <= model.config.language.maxPositionEmbeddings else {
            throw GenerationError.promptTooLong(tokens: ids.count, context: model.config.language.maxPositionEmbeddings)
        }
        var stats = GenerationStats()
        let projected = images.isEmpty ? nil : try generator.projectedFeatures(images, stats: &stats)
        let logits = noGrad {
            model.logits(ids: ids, images: projected, imagesPerSample: projected == nil ? [] : [Array(0..<images.count)])
        }
        // The ids first: they are small, and a failure there must not leave new logits beside old ids.
        if let idsURL {
            try NPYFile.write(try TensorData(int64s: ids.map { Int64($0) }, shape: [ids.count]), to: idsURL)
        }
        try NPYFile.write(logits.reshaped([ids.count, model.config.language.vocabSize]), to: logitsURL)
        FileHandle.standardError.write(Data("\(ids.count) tokens, logits [\(ids.count), \(model.config.language.vocabSize)] → \(dumpLogits)\n".utf8))
    }
}
