// Messages for chat templates, in the shape transformers' apply_chat_template receives them.

public struct ChatToolCall: Equatable, Sendable {
    public var name: String
    /// A `.string` is inserted as written; anything else is printed with Python's json.dumps.
    public var arguments: OrderedJSON

    public init(name: String, arguments: OrderedJSON) {
        self.name = name
        self.arguments = arguments
    }
}

public struct ChatMessage: Equatable, Sendable {
    public var role: String
    /// nil stands for a non-string content (the templates render it as "").
    public var content: String?
    /// minimind-3's `reasoning_content`; nil means "not given" (the template then looks for
    /// <think>...</think> inside `content`).
    public var reasoningContent: String?
    public var toolCalls: [ChatToolCall]

    public init(role: String, content: String?, reasoningContent: String? = nil, toolCalls: [ChatToolCall] = []) {
        self.role = role
        self.content = content
        self.reasoningContent = reasoningContent
        self.toolCalls = toolCalls
    }

    public static func system(_ text: String) -> ChatMessage { ChatMessage(role: "system", content: text) }
    public static func user(_ text: String) -> ChatMessage { ChatMessage(role: "user", content: text) }
    public static func assistant(_ text: String, reasoning: String? = nil) -> ChatMessage {
        ChatMessage(role: "assistant", content: text, reasoningContent: reasoning)
    }

    /// A message from its JSON form: {"role", "content", "reasoning_content"?, "tool_calls"?}; tool
    /// calls are {"name", "arguments"} or {"type": "function", "function": {"name", "arguments"}}.
    public init(json: OrderedJSON) throws {
        guard case .object = json else { throw ChatTemplateError.badMessage("a message must be a JSON object") }
        guard let role = json["role"]?.stringValue else { throw ChatTemplateError.badMessage("a message has no string 'role'") }
        var calls: [ChatToolCall] = []
        if case let .array(items)? = json["tool_calls"] {
            for item in items {
                let call: OrderedJSON
                if let f = item["function"], case .object = f { call = f } else { call = item }
                guard let name = call["name"]?.stringValue else {
                    throw ChatTemplateError.badMessage("a tool call of a '\(role)' message has no string 'name'")
                }
                calls.append(ChatToolCall(name: name, arguments: call["arguments"] ?? .null))
            }
        }
        self.init(role: role, content: json["content"]?.stringValue, reasoningContent: json["reasoning_content"]?.stringValue,
                  toolCalls: calls)
    }

    /// A conversation from JSON text (a list of messages, as in the upstream datasets).
    public static func conversation(fromJSON text: String) throws -> [ChatMessage] {
        guard case let .array(items) = try OrderedJSON.parse(text) else {
            throw ChatTemplateError.badMessage("a conversation must be a JSON array of messages")
        }
        return try items.map { try ChatMessage(json: $0) }
    }
}
