// Chat templates: one typed renderer per known Jinja template, chosen by fingerprinting the
// template text of tokenizer_config.json. Output is byte-for-byte what transformers'
// apply_chat_template(messages, tools=..., add_generation_prompt=..., <thinking flag>) renders.

public enum ChatTemplateError: Error, CustomStringConvertible, Equatable {
    case missingTemplate
    case unknownTemplate(fingerprint: String, excerpt: String)
    case emptyConversation
    case badMessage(String)

    public var description: String {
        switch self {
        case .missingTemplate:
            return "the tokenizer has no chat_template in tokenizer_config.json; choose one explicitly with "
                + "ChatTemplate(kind: .minimind2) or ChatTemplate(kind: .minimind3)"
        case let .unknownTemplate(fingerprint, excerpt):
            return "the chat_template in tokenizer_config.json is not one this SDK renders (fingerprint \(fingerprint), "
                + "starts with \(excerpt.debugDescription)). Supported: "
                + ChatTemplateKind.allCases.map { "\($0.rawValue) (\($0.summary))" }.joined(separator: "; ")
                + ". If your template renders like one of them, choose it explicitly: ChatTemplate(kind: .minimind2)"
        case .emptyConversation:
            return "a conversation needs at least one message (the templates read messages[0])"
        case let .badMessage(message):
            return "bad chat message: \(message)"
        }
    }
}

public enum ChatTemplateKind: String, CaseIterable, Sendable {
    /// MiniMind2 / MiniMind2-V: default system turn, optional tools, `enable_thinking=false` adds an empty think block.
    case minimind2
    /// minimind-3 / minimind-3v: no default system turn, <think> blocks on assistant turns, `open_thinking`.
    case minimind3

    var summary: String {
        switch self {
        case .minimind2: return "MiniMind2/MiniMind2-V tokenizer_config.json"
        case .minimind3: return "minimind-3/minimind-3v tokenizer_config.json"
        }
    }

    /// Fingerprints (FNV-1a 64 of the trimmed non-empty lines) of the upstream template texts.
    static let fingerprints: [UInt64: ChatTemplateKind] = [
        0x5d7e_2855_5687_b0a9: .minimind2,  // jingyaogong/minimind-v b28715e model/tokenizer_config.json
        0x8d28_0961_5609_501b: .minimind3,  // jingyaogong/minimind-v 9595617 model/tokenizer_config.json
    ]

    /// The `<image>` expansion this generation's models were trained with (Docs/Model.md, "Projector and image splicing").
    public var imagePlaceholder: ImagePlaceholder {
        switch self {
        case .minimind2: return .minimind2V
        case .minimind3: return .minimind3V
        }
    }
}

public struct ChatTemplateOptions: Sendable {
    public var addGenerationPrompt: Bool
    /// The template's thinking switch: MiniMind2 `enable_thinking`, minimind-3 `open_thinking`.
    /// nil = not passed (MiniMind2: nothing added; minimind-3: an empty think block is added).
    public var thinking: Bool?
    /// Tool JSON schemas (nil or empty: no tools section).
    public var tools: [OrderedJSON]?

    public init(addGenerationPrompt: Bool = false, thinking: Bool? = nil, tools: [OrderedJSON]? = nil) {
        self.addGenerationPrompt = addGenerationPrompt
        self.thinking = thinking
        self.tools = tools
    }
}

public struct ChatTemplate: Sendable {
    public let kind: ChatTemplateKind

    public init(kind: ChatTemplateKind) { self.kind = kind }

    /// Recognises a Jinja template text (whitespace at line ends and blank lines are ignored).
    public init(recognizing text: String) throws {
        let fp = Self.fingerprint(text)
        guard let kind = ChatTemplateKind.fingerprints[fp] else {
            throw ChatTemplateError.unknownTemplate(fingerprint: String(fp, radix: 16), excerpt: String(text.prefix(60)))
        }
        self.kind = kind
    }

    /// The template named by a tokenizer's tokenizer_config.json.
    public init(tokenizer: Tokenizer) throws {
        guard let text = tokenizer.chatTemplateText else { throw ChatTemplateError.missingTemplate }
        try self.init(recognizing: text)
    }

    static func fingerprint(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        var first = true
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var bytes = Array(line.utf8)[...]
            while let b = bytes.first, b == 0x20 || b == 0x09 || b == 0x0D { bytes = bytes.dropFirst() }
            while let b = bytes.last, b == 0x20 || b == 0x09 || b == 0x0D { bytes = bytes.dropLast() }
            if bytes.isEmpty { continue }
            if !first { hash = (hash ^ 0x0A) &* 0x0000_0100_0000_01B3 }
            first = false
            for b in bytes { hash = (hash ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        }
        return hash
    }

    /// The prompt text for `messages`.
    public func render(_ messages: [ChatMessage], options: ChatTemplateOptions = ChatTemplateOptions()) throws -> String {
        guard !messages.isEmpty else { throw ChatTemplateError.emptyConversation }
        switch kind {
        case .minimind2: return MiniMindChatRenderer.renderMiniMind2(messages, options)
        case .minimind3: return MiniMindChatRenderer.renderMiniMind3(messages, options)
        }
    }
}
