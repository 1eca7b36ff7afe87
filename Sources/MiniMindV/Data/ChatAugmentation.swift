import Foundation

/// minimind-3v's sampling augmentations (upstream `pre_processing_chat` / `post_processing_chat`):
/// with probability `systemPromptRatio` a conversation without a system turn gets a random system
/// prompt; with probability `1 − keepEmptyThinkRatio` the rendered text loses its empty
/// `<think>\n\n</think>\n\n` blocks. Rows with tool calls are left alone. Seeded: the same seed,
/// epoch and row give the same result.
public struct ChatAugmentation: Codable, Equatable, Sendable {
    public var systemPromptRatio: Double
    public var keepEmptyThinkRatio: Double
    public var systemPrompts: [String]

    public init(systemPromptRatio: Double = 0.2, keepEmptyThinkRatio: Double = 0.2,
                systemPrompts: [String] = ChatAugmentation.upstreamSystemPrompts) {
        self.systemPromptRatio = systemPromptRatio
        self.keepEmptyThinkRatio = keepEmptyThinkRatio
        self.systemPrompts = systemPrompts
    }

    public static let emptyThinkBlock = "<think>\n\n</think>\n\n"

    /// Upstream's list (dataset/lm_dataset.py).
    public static let upstreamSystemPrompts = [
        "你是一个知识丰富的AI，尽力为用户提供准确的信息。",
        "你是minimind，一个小巧但有用的语言模型。",
        "你是一个专业的AI助手，请提供有价值的回答。",
        "你是minimind，请尽力帮助用户解决问题。",
        "你是一个可靠的AI，请给出准确的回答。",
        "You are a helpful AI assistant.",
        "You are minimind, a lightweight intelligent assistant.",
        "You are a friendly chatbot. Please answer the user's questions carefully.",
        "You are a knowledgeable AI. Try your best to provide accurate information.",
        "You are minimind, a small but useful language model.",
    ]

    func augment(_ messages: [ChatMessage], generator g: inout SeededGenerator) -> [ChatMessage] {
        guard !messages.contains(where: { !$0.toolCalls.isEmpty }), messages.first?.role != "system",
              !systemPrompts.isEmpty else { return messages }
        guard g.nextDouble() < systemPromptRatio else { return messages }
        let prompt = systemPrompts[Int(g.next() % UInt64(systemPrompts.count))]
        return [.system(prompt)] + messages
    }

    func postProcess(_ text: String, generator g: inout SeededGenerator) -> String {
        guard text.contains(Self.emptyThinkBlock), g.nextDouble() >= keepEmptyThinkRatio else { return text }
        return text.replacingOccurrences(of: Self.emptyThinkBlock, with: "")
    }
}
