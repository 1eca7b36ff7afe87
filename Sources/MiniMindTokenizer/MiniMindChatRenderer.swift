// The two upstream Jinja templates written out in Swift. Each line mirrors a template statement;
// string operations act on UTF-8 bytes like Python's str methods act on code points.

enum MiniMindChatRenderer {
    static let toolsHeader = "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
        + "You are provided with function signatures within <tools></tools> XML tags:\n<tools>"
    static let toolsFooter = "\n</tools>\n\nFor each function call, return a json object with function name and arguments "
        + "within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": "
        + "<args-json-object>}\n</tool_call><|im_end|>\n"

    /// `{%- if tools %}` block shared by both templates.
    static func toolsSystemTurn(_ messages: [ChatMessage], _ tools: [OrderedJSON]) -> String {
        var out = "<|im_start|>system\n"
        if messages[0].role == "system" { out += (messages[0].content ?? "") + "\n\n" }
        out += toolsHeader
        for tool in tools { out += "\n" + tool.pythonJSON }
        return out + toolsFooter
    }

    static func toolCalls(_ calls: [ChatToolCall], contentIsEmpty: Bool) -> String {
        var out = ""
        for (k, call) in calls.enumerated() {
            if (k == 0 && !contentIsEmpty) || k > 0 { out += "\n" }
            out += "<tool_call>\n{\"name\": \"" + call.name + "\", \"arguments\": "
            if case let .string(s) = call.arguments { out += s } else { out += call.arguments.pythonJSON }
            out += "}\n</tool_call>"
        }
        return out
    }

    /// Consecutive tool messages are grouped into one user turn of <tool_response> blocks.
    static func toolTurn(_ messages: [ChatMessage], _ i: Int, _ content: String) -> String {
        var out = ""
        if i == 0 || messages[i - 1].role != "tool" { out += "<|im_start|>user" }
        out += "\n<tool_response>\n" + content + "\n</tool_response>"
        if i == messages.count - 1 || messages[i + 1].role != "tool" { out += "<|im_end|>\n" }
        return out
    }

    static func renderMiniMind2(_ messages: [ChatMessage], _ options: ChatTemplateOptions) -> String {
        var out = ""
        if let tools = options.tools, !tools.isEmpty {
            out += toolsSystemTurn(messages, tools)
        } else if messages[0].role == "system" {
            out += "<|im_start|>system\n" + (messages[0].content ?? "") + "<|im_end|>\n"
        } else {
            out += "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n"
        }
        for (i, m) in messages.enumerated() {
            let content = m.content ?? ""
            if m.role == "user" || (m.role == "system" && i != 0) {
                out += "<|im_start|>" + m.role + "\n" + content + "<|im_end|>\n"
            } else if m.role == "assistant" {
                out += "<|im_start|>" + m.role + "\n" + content
                out += toolCalls(m.toolCalls, contentIsEmpty: content.isEmpty)
                out += "<|im_end|>\n"
            } else if m.role == "tool" {
                out += toolTurn(messages, i, content)
            }
        }
        if options.addGenerationPrompt {
            out += "<|im_start|>assistant\n"
            if options.thinking == false { out += "<think>\n\n</think>\n\n" }
        }
        return out
    }

    static func renderMiniMind3(_ messages: [ChatMessage], _ options: ChatTemplateOptions) -> String {
        var out = ""
        if let tools = options.tools, !tools.isEmpty {
            out += toolsSystemTurn(messages, tools)
        } else if messages[0].role == "system" {
            out += "<|im_start|>system\n" + (messages[0].content ?? "") + "<|im_end|>\n"
        }
        for (i, m) in messages.enumerated() {
            var content = m.content ?? ""
            if m.role == "user" || (m.role == "system" && i != 0) {
                out += "<|im_start|>" + m.role + "\n" + content + "<|im_end|>\n"
            } else if m.role == "assistant" {
                var reasoning = ""
                if let r = m.reasoningContent {
                    reasoning = r
                } else if PyStr.contains(content, "</think>") {
                    let before = PyStr.split(content, "</think>")[0]
                    reasoning = PyStr.lstrip(PyStr.split(PyStr.rstrip(before, "\n"), "<think>").last ?? "", "\n")
                    content = PyStr.lstrip(PyStr.split(content, "</think>").last ?? "", "\n")
                }
                out += "<|im_start|>" + m.role + "\n<think>\n" + PyStr.strip(reasoning, "\n") + "\n</think>\n\n"
                    + PyStr.lstrip(content, "\n")
                out += toolCalls(m.toolCalls, contentIsEmpty: content.isEmpty)
                out += "<|im_end|>\n"
            } else if m.role == "tool" {
                out += toolTurn(messages, i, content)
            }
        }
        if options.addGenerationPrompt {
            out += "<|im_start|>assistant\n"
            out += options.thinking == true ? "<think>\n" : "<think>\n\n</think>\n\n"
        }
        return out
    }
}

/// Python str methods on UTF-8 bytes (Swift's String methods compare grapheme clusters instead).
enum PyStr {
    static func contains(_ s: String, _ sep: String) -> Bool { split(s, sep).count > 1 }

    static func split(_ s: String, _ sep: String) -> [String] {
        let b = Array(s.utf8), p = Array(sep.utf8)
        guard !p.isEmpty, b.count >= p.count else { return [s] }
        var parts: [String] = []
        var start = 0, i = 0
        while i + p.count <= b.count {
            if b[i] == p[0] && Array(b[i..<(i + p.count)]) == p {
                parts.append(String(decoding: b[start..<i], as: UTF8.self))
                i += p.count
                start = i
            } else {
                i += 1
            }
        }
        parts.append(String(decoding: b[start...], as: UTF8.self))
        return parts
    }

    /// Strips one ASCII character (here always "\n") from the ends.
    static func lstrip(_ s: String, _ ch: Character) -> String {
        guard let c = ch.asciiValue else { return s }
        let b = Array(s.utf8)
        var i = 0
        while i < b.count && b[i] == c { i += 1 }
        return String(decoding: b[i...], as: UTF8.self)
    }

    static func rstrip(_ s: String, _ ch: Character) -> String {
        guard let c = ch.asciiValue else { return s }
        let b = Array(s.utf8)
        var j = b.count
        while j > 0 && b[j - 1] == c { j -= 1 }
        return String(decoding: b[..<j], as: UTF8.self)
    }

    static func strip(_ s: String, _ ch: Character) -> String { rstrip(lstrip(s, ch), ch) }
}
