import Foundation

/// One conversation of a dataset before templating: turns in order and the images its `<image>`
/// markers refer to, in order. `name` identifies the row in warnings.
public struct ConversationRow: @unchecked Sendable {
    public var name: String
    public var messages: [ChatMessage]
    public var images: [PromptImage]
    /// The row's other fields, which training ignores and evaluation reads (`id`, `type`,
    /// `category`, `answers`): JSONL keys besides `conversations` and `image`; Parquet columns
    /// `id`, `type`, `category` (text or integer) and `answers` (JSON text).
    public var attributes: [String: OrderedJSON]

    public init(name: String, messages: [ChatMessage], images: [PromptImage] = [], attributes: [String: OrderedJSON] = [:]) {
        self.name = name
        self.messages = messages
        self.images = images
        self.attributes = attributes
    }

    /// Turns from a JSON array of `{role, content}` objects. Older MiniMind-V data wrote `value`
    /// instead of `content`, and MiniMind2-V ignores roles (it takes them by position), so a
    /// missing role is allowed here and checked by the sample builder.
    static func messages(fromJSON json: OrderedJSON, row: String) throws -> [ChatMessage] {
        guard case let .array(items) = json else {
            throw TrainingDataError.malformedRow(row: row, reason: "'conversations' must be a JSON array of {role, content} turns")
        }
        var out: [ChatMessage] = []
        for (i, item) in items.enumerated() {
            guard case .object = item else {
                throw TrainingDataError.malformedRow(row: row, reason: "turn \(i) is not a JSON object")
            }
            guard let content = (item["content"] ?? item["value"])?.stringValue else {
                throw TrainingDataError.malformedRow(row: row, reason: "turn \(i) has no string 'content'")
            }
            let role = item["role"]?.stringValue ?? item["from"]?.stringValue ?? ""
            out.append(ChatMessage(role: role, content: content, reasoningContent: item["reasoning_content"]?.stringValue))
        }
        return out
    }

    static func messages(fromJSONText text: String, row: String) throws -> [ChatMessage] {
        let json: OrderedJSON
        do { json = try OrderedJSON.parse(text) } catch {
            throw TrainingDataError.malformedRow(row: row, reason: "bad JSON in 'conversations': \(error)")
        }
        return try messages(fromJSON: json, row: row)
    }
}
