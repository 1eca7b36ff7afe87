import Foundation

/// Turns text with `<image>` markers plus images into token ids and image slots — the one way
/// every caller builds model input (generation, chat, serving, evaluation, training samples, the
/// `forward` command), as llama.cpp's `mtmd_tokenize` is for its tools. The rule (Docs/Model.md,
/// "Assembling a prompt"), as upstream's data and evaluation code do it:
///
/// 1. In every user and assistant message each `<image>` is replaced by the model's placeholder run
///    ('@' × 196 or '<|image_pad|>' × 64) *before* the chat template renders the messages, so the
///    template's own text (its default system prompt) is never touched. A marker in a system message
///    is refused.
/// 2. The markers must equal the images in number, in order; a question that arrives with images but
///    without any marker first gets one `"<image>\n"` per image in front of its text (`question(_:images:)`).
/// 3. The rendered text is tokenised as a whole (as transformers does), and every run of the
///    placeholder id must be exactly one image long: those runs are the images' slots.
///
/// ```swift
/// let assembler = PromptAssembler(tokenizer: bundle.tokenizer, template: bundle.template, config: bundle.model.config)
/// let prompt = try assembler.assemble([.user("<image>\nWhat is this?")], images: [.image(photo)])
/// prompt.ids           // the template's ids, the image as 196 placeholder ids
/// prompt.imageSlots    // [start..<start + 196]
/// ```
public struct PromptAssembler: Sendable {
    public let tokenizer: Tokenizer
    /// nil when the tokenizer has no chat template this SDK knows (raw text still assembles).
    public let template: ChatTemplate?
    /// What users write where an image goes.
    public let marker: String
    /// The text one image becomes and how many tokens that is.
    public let placeholder: ImagePlaceholder
    public let imageTokenId: Int

    public init(tokenizer: Tokenizer, template: ChatTemplate?, marker: String = "<image>", placeholder: ImagePlaceholder,
                imageTokenId: Int) {
        self.tokenizer = tokenizer
        self.template = template
        self.marker = marker
        self.placeholder = placeholder
        self.imageTokenId = imageTokenId
    }

    /// The assembler for a model's configuration.
    public init(tokenizer: Tokenizer, template: ChatTemplate?, config: VLMConfig) {
        self.init(tokenizer: tokenizer, template: template, marker: config.imageMarker,
                  placeholder: ImagePlaceholder(token: config.imagePlaceholder, count: config.imageTokens),
                  imageTokenId: config.imageTokenId)
    }

    // MARK: - The whole path

    /// Chat messages and their images → ids and slots. `generationPrompt` appends the template's
    /// assistant prefix (generation); training samples render without it.
    public func assemble(_ messages: [ChatMessage], images: [PromptImage], generationPrompt: Bool = true,
                         thinking: Bool? = nil) throws -> GenerationPrompt {
        let text = try render(messages, images: images.count,
                              options: ChatTemplateOptions(addGenerationPrompt: generationPrompt, thinking: thinking))
        return try tokenize(text, images: images)
    }

    /// Raw text (no chat template) with `<image>` markers → ids and slots.
    public func assemble(text: String, images: [PromptImage]) throws -> GenerationPrompt {
        let markers = count(text)
        guard markers == images.count else { throw PromptError.imageCountMismatch(markers: markers, images: images.count) }
        return try tokenize(placeholder.expand(text, marker: marker), images: images)
    }

    // MARK: - The steps (training samples post-process the text between them)

    /// `question` with one `"<image>\n"` per image in front when it has images but no marker
    /// (upstream evaluation's layout); unchanged otherwise (the count is checked when assembling).
    public func question(_ question: String, images: Int) -> String {
        guard images > 0, count(question) == 0 else { return question }
        return String(repeating: marker + "\n", count: images) + question
    }

    /// Step 1: markers of user and assistant messages replaced by the placeholder run, checked
    /// against the number of images.
    public func expand(_ messages: [ChatMessage], images: Int) throws -> [ChatMessage] {
        var out = messages
        var markers = 0
        for (i, m) in messages.enumerated() {
            guard let content = m.content else { continue }
            let n = count(content)
            guard n > 0 else { continue }
            if m.role == "system" { throw PromptError.markerInSystemMessage(index: i) }
            markers += n
            out[i].content = placeholder.expand(content, marker: marker)
        }
        guard markers == images else { throw PromptError.imageCountMismatch(markers: markers, images: images) }
        return out
    }

    /// Steps 1 and 2: the template's text of `messages` with the images expanded.
    public func render(_ messages: [ChatMessage], images: Int, options: ChatTemplateOptions) throws -> String {
        guard let template else { throw PromptError.noChatTemplate }
        return try template.render(try expand(messages, images: images), options: options)
    }

    /// Step 3: rendered text → ids, with the slots of `images`.
    public func tokenize(_ text: String, images: [PromptImage]) throws -> GenerationPrompt {
        let ids = tokenizer.encode(text)
        return GenerationPrompt(ids: ids, images: images, imageSlots: try imageSlots(in: ids, images: images.count))
    }

    /// The slot of each image in `ids`: the runs of the placeholder id, each one image long, one
    /// per image. Without images there are no slots and placeholder ids stay text (as upstream).
    public func imageSlots(in ids: [Int], images: Int) throws -> [Range<Int>] {
        guard images > 0 else { return [] }
        let runs = ImageSplice.runs(in: ids, batch: 1, tokenId: imageTokenId)[0]
        if let bad = runs.first(where: { $0.length != placeholder.count }) {
            throw PromptError.badImageRun(length: bad.length, expected: placeholder.count)
        }
        guard runs.count == images else { throw PromptError.imageRunCountMismatch(runs: runs.count, images: images) }
        return runs.map { $0.start..<($0.start + $0.length) }
    }

    /// Markers in `text`.
    func count(_ text: String) -> Int { text.components(separatedBy: marker).count - 1 }
}
