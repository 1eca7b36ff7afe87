import Foundation
import MiniMindTokenizer
import MiniMindV

/// A `POST /v1/chat/completions` body, checked field by field: every error names the field
/// (`param`), the value found and what is allowed. Unknown fields are ignored, as clients send
/// optional ones this server does not implement.
struct ChatRequest {
    var model: String
    var messages: [ChatMessage]
    /// Images of all messages, in order of appearance (one `<image>` marker each in the text).
    var images: [PromptImage]
    /// nil: as many as the context leaves.
    var maxTokens: Int?
    /// Which of max_completion_tokens / max_tokens gave it (for error messages).
    var maxTokensParam = "max_tokens"
    var options: SamplingOptions
    var stream = false
    var includeUsage = false

    struct Limits {
        var maxImages: Int
        var marker: String
        var images: ImageInput
    }

    init(json: OrderedJSON, defaults: SamplingOptions, limits: Limits) throws {
        guard case .object = json else { throw OpenAIError.invalid("the request body must be a JSON object", code: "invalid_json") }
        guard let modelValue = json["model"] else { throw OpenAIError.invalid("'model' is required", param: "model", code: "missing_required_parameter") }
        guard case let .string(model) = modelValue else { throw OpenAIError.wrongType("model", expected: "a string", found: modelValue) }
        self.model = model

        guard let list = json["messages"] else { throw OpenAIError.invalid("'messages' is required", param: "messages", code: "missing_required_parameter") }
        guard case let .array(items) = list else { throw OpenAIError.wrongType("messages", expected: "an array", found: list) }
        guard !items.isEmpty else { throw OpenAIError.invalid("'messages' must contain at least one message", param: "messages") }
        var messages: [ChatMessage] = [], images: [PromptImage] = []
        for (i, item) in items.enumerated() {
            messages.append(try Self.message(item, param: "messages[\(i)]", limits: limits, images: &images))
        }
        guard messages.contains(where: { $0.role == "user" }) else {
            throw OpenAIError.invalid("'messages' must contain a user message", param: "messages")
        }
        self.messages = messages
        self.images = images

        var options = defaults
        if let v = json["temperature"], v != .null {
            let t = try Self.number(v, "temperature")
            guard (0...2).contains(t) else { throw OpenAIError.invalid("'temperature' must be between 0 and 2, found \(t)", param: "temperature", code: "invalid_value") }
            options.temperature = Float(t)
        }
        if let v = json["top_p"], v != .null {
            let p = try Self.number(v, "top_p")
            guard p > 0 && p <= 1 else { throw OpenAIError.invalid("'top_p' must be in (0, 1], found \(p)", param: "top_p", code: "invalid_value") }
            options.topP = Float(p)
        }
        if let v = json["top_k"], v != .null {
            let k = try Self.integer(v, "top_k")
            guard k >= 0 else { throw OpenAIError.invalid("'top_k' must be 0 (off) or positive, found \(k)", param: "top_k", code: "invalid_value") }
            options.topK = k
        }
        if let v = json["seed"], v != .null { options.seed = UInt64(bitPattern: Int64(try Self.integer(v, "seed"))) }
        for key in ["max_completion_tokens", "max_tokens"] {
            guard let v = json[key], v != .null else { continue }
            let n = try Self.integer(v, key)
            guard n >= 1 else { throw OpenAIError.invalid("'\(key)' must be at least 1, found \(n)", param: key, code: "invalid_value") }
            maxTokens = n
            maxTokensParam = key
            break
        }
        if let v = json["n"], v != .null {
            let n = try Self.integer(v, "n")
            guard n == 1 else { throw OpenAIError.invalid("only n = 1 is supported, found \(n)", param: "n", code: "invalid_value") }
        }
        if let v = json["stop"], v != .null {
            switch v {
            case let .string(s): options.stopStrings = [s]
            case let .array(list):
                options.stopStrings = try list.enumerated().map { i, s in
                    guard case let .string(text) = s else { throw OpenAIError.wrongType("stop[\(i)]", expected: "a string", found: s) }
                    return text
                }
            default: throw OpenAIError.wrongType("stop", expected: "a string or an array of strings", found: v)
            }
            guard options.stopStrings.count <= 4 else { throw OpenAIError.invalid("'stop' takes at most 4 strings, found \(options.stopStrings.count)", param: "stop", code: "invalid_value") }
            guard !options.stopStrings.contains("") else { throw OpenAIError.invalid("a stop string must not be empty", param: "stop", code: "invalid_value") }
        }
        // vLLM's extension: answers run to max_tokens (benchmarks want equal lengths).
        if let v = json["ignore_eos"], v != .null {
            guard case let .bool(b) = v else { throw OpenAIError.wrongType("ignore_eos", expected: "a boolean", found: v) }
            if b { options.eosTokenIds = [] }
        }
        if let v = json["stream"], v != .null {
            guard case let .bool(b) = v else { throw OpenAIError.wrongType("stream", expected: "a boolean", found: v) }
            stream = b
        }
        if let v = json["stream_options"], v != .null {
            guard case .object = v else { throw OpenAIError.wrongType("stream_options", expected: "an object", found: v) }
            if let u = v["include_usage"], u != .null {
                guard case let .bool(b) = u else { throw OpenAIError.wrongType("stream_options.include_usage", expected: "a boolean", found: u) }
                includeUsage = b
            }
        }
        self.options = options
    }

    private static func message(_ item: OrderedJSON, param: String, limits: Limits, images: inout [PromptImage]) throws -> ChatMessage {
        guard case .object = item else { throw OpenAIError.wrongType(param, expected: "an object", found: item) }
        guard let roleValue = item["role"] else { throw OpenAIError.invalid("'\(param).role' is required", param: "\(param).role", code: "missing_required_parameter") }
        guard case var .string(role) = roleValue else { throw OpenAIError.wrongType("\(param).role", expected: "a string", found: roleValue) }
        if role == "developer" { role = "system" }
        guard ["system", "user", "assistant"].contains(role) else {
            throw OpenAIError.invalid("'\(param).role' must be system, developer, user or assistant, found '\(role)'", param: "\(param).role", code: "invalid_value")
        }
        guard let content = item["content"], content != .null else {
            throw OpenAIError.invalid("'\(param).content' is required", param: "\(param).content", code: "missing_required_parameter")
        }
        switch content {
        case let .string(text): return ChatMessage(role: role, content: text)
        case let .array(parts):
            var text = ""
            for (j, part) in parts.enumerated() {
                let p = "\(param).content[\(j)]"
                guard case .object = part else { throw OpenAIError.wrongType(p, expected: "an object", found: part) }
                guard let type = part["type"]?.stringValue else { throw OpenAIError.invalid("'\(p).type' must be \"text\" or \"image_url\"", param: "\(p).type") }
                switch type {
                case "text":
                    guard let t = part["text"] else { throw OpenAIError.invalid("'\(p).text' is required", param: "\(p).text", code: "missing_required_parameter") }
                    guard case let .string(s) = t else { throw OpenAIError.wrongType("\(p).text", expected: "a string", found: t) }
                    text += s
                case "image_url":
                    guard role == "user" else { throw OpenAIError.invalid("images are allowed only in user messages", param: p) }
                    let urlParam = "\(p).image_url.url"
                    // Both {"image_url": {"url": "…"}} and the older {"image_url": "…"}.
                    let value = part["image_url"]?["url"] ?? part["image_url"]
                    guard let url = value?.stringValue else {
                        throw OpenAIError.invalid("'\(urlParam)' must be a string", param: urlParam, code: "invalid_type")
                    }
                    guard images.count < limits.maxImages else {
                        throw OpenAIError.invalid("at most \(limits.maxImages) images per request", param: p, code: "too_many_images")
                    }
                    images.append(try limits.images.image(from: url, param: urlParam))
                    text += limits.marker + "\n"
                default:
                    throw OpenAIError.invalid("'\(p).type' must be \"text\" or \"image_url\", found '\(type)'", param: "\(p).type", code: "invalid_value")
                }
            }
            return ChatMessage(role: role, content: text)
        default:
            throw OpenAIError.wrongType("\(param).content", expected: "a string or an array of content parts", found: content)
        }
    }

    private static func number(_ v: OrderedJSON, _ param: String) throws -> Double {
        switch v {
        case let .int(i): return Double(i)
        case let .double(d) where d.isFinite: return d
        default: throw OpenAIError.wrongType(param, expected: "a number", found: v)
        }
    }

    private static func integer(_ v: OrderedJSON, _ param: String) throws -> Int {
        switch v {
        case let .int(i): return i
        case let .double(d) where d.isFinite && d == d.rounded() && abs(d) < 9e15: return Int(d)
        default: throw OpenAIError.wrongType(param, expected: "an integer", found: v)
        }
    }
}
