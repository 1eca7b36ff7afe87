import Foundation
import MiniMindTokenizer
import MiniMindV

/// The response bodies of `POST /v1/chat/completions`, shaped as OpenAI's: a `chat.completion`
/// object, or `chat.completion.chunk` events for a stream.
struct CompletionJSON {
    let id: String
    let created: Int
    let model: String

    init(model: String) {
        id = "chatcmpl-" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        created = Int(Date().timeIntervalSince1970)
        self.model = model
    }

    /// OpenAI's two reasons: "stop" (eos or a stop string) and "length" (token budget or context).
    static func finishReason(_ reason: FinishReason) -> OrderedJSON {
        switch reason {
        case .eos, .stopString: return "stop"
        case .maxTokens, .contextFull: return "length"
        case .cancelled: return .null
        }
    }

    /// OpenAI's usage object; `cached`: prompt tokens taken from the prefix cache (`prompt_tokens_details`).
    static func usage(prompt: Int, completion: Int, cached: Int) -> OrderedJSON {
        ["prompt_tokens": .int(prompt), "completion_tokens": .int(completion), "total_tokens": .int(prompt + completion),
         "prompt_tokens_details": ["cached_tokens": .int(cached)]]
    }

    func completion(_ result: GenerationResult, promptTokens: Int) -> OrderedJSON {
        [
            "id": .string(id), "object": "chat.completion", "created": .int(created), "model": .string(model),
            "system_fingerprint": .null,
            "choices": [[
                "index": 0,
                "message": ["role": "assistant", "content": .string(result.text), "refusal": .null],
                "logprobs": .null,
                "finish_reason": Self.finishReason(result.finishReason),
            ]],
            "usage": Self.usage(prompt: promptTokens, completion: result.ids.count, cached: result.stats.cachedPromptTokens),
        ]
    }

    /// One stream event. `delta` is {"role"} first, then {"content"}; the last has `finish`.
    /// With include_usage every chunk carries "usage": null and a final chunk with no choices has it.
    func chunk(delta: OrderedJSON, finish: FinishReason? = nil, includeUsage: Bool) -> OrderedJSON {
        var pairs: [(key: String, value: OrderedJSON)] = [
            ("id", .string(id)), ("object", "chat.completion.chunk"), ("created", .int(created)), ("model", .string(model)),
            ("system_fingerprint", .null),
            ("choices", [["index": 0, "delta": delta, "logprobs": .null, "finish_reason": finish.map(Self.finishReason) ?? .null]]),
        ]
        if includeUsage { pairs.append(("usage", .null)) }
        return .object(pairs)
    }

    func usageChunk(promptTokens: Int, _ result: GenerationResult) -> OrderedJSON {
        ["id": .string(id), "object": "chat.completion.chunk", "created": .int(created), "model": .string(model),
         "system_fingerprint": .null, "choices": [], "usage": Self.usage(prompt: promptTokens, completion: result.ids.count, cached: result.stats.cachedPromptTokens)]
    }

    /// A server-sent event line pair.
    static func event(_ json: OrderedJSON) -> String { "data: " + json.pythonJSON + "\n\n" }
}
