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
        var text = prompt
        if !raw {
            // Every <image> needs an image and every image an <image>: nothing is dropped silently.
            let markers = prompt.components(separatedBy: model.config.imageMarker).count - 1
            guard markers == image.count else { throw GenerationError.imageCountMismatch(markers: markers, images: image.count) }
            text = expandImagePlaceholders(text, placeholder: model.config.imagePlaceholder, count: model.config.imageTokens,
                                           marker: model.config.imageMarker)
            text = try bundle.template.render([.user(text)], options: ChatTemplateOptions(addGenerationPrompt: true))
        }
        let ids = bundle.tokenizer.encode(text)
        guard !ids.isEmpty else { throw GenerationError.emptyPrompt }
        guard ids.count <= model.config.language.maxPositionEmbeddings else {
            throw GenerationError.promptTooLong(tokens: ids.count, context: model.config.language.maxPositionEmbeddings)
        }
        if !image.isEmpty {
            let runs = ImageSplice.runs(in: ids, batch: 1, tokenId: model.config.imageTokenId)[0]
            guard runs.count == image.count else { throw GenerationError.imageCountMismatch(markers: runs.count, images: image.count) }
            if let bad = runs.first(where: { $0.length != model.config.imageTokens }) {
                throw GenerationError.badImageRun(length: bad.length, expected: model.config.imageTokens)
            }
        }
        let logits = try noGrad { () throws -> Tensor in
            guard !image.isEmpty else { return model.logits(ids: ids) }
            let images = try image.map { try RGBImage(contentsOf: URL(fileURLWithPath: $0)) }
            let pixels = try model.preprocess(images)
            let projected = model.project(model.visionFeatures(pixels))
            return model.logits(ids: ids, images: projected, imagesPerSample: [Array(0..<images.count)])
        }
        // The ids first: they are small, and a failure there must not leave new logits beside old ids.
        if let idsURL {
            try NPYFile.write(try TensorData(int64s: ids.map { Int64($0) }, shape: [ids.count]), to: idsURL)
        }
        try NPYFile.write(logits.reshaped([ids.count, model.config.language.vocabSize]), to: logitsURL)
        FileHandle.standardError.write(Data("\(ids.count) tokens, logits [\(ids.count), \(model.config.language.vocabSize)] → \(dumpLogits)\n".utf8))
    }
}
