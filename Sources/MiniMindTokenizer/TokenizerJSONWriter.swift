// Serialises a trained byte-level BPE as tokenizer.json in the layout HF `tokenizers` writes.

enum TokenizerJSONWriter {
    static func write(tokens: [String], specialCount: Int, merges: [(String, String)], preTokenizer: ByteLevelOptions) -> String {
        var s = "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": ["
        for k in 0..<specialCount {
            s += k == 0 ? "\n" : ",\n"
            s += "    {\"id\": \(k), \"content\": \(quote(tokens[k])), \"single_word\": false, \"lstrip\": false, "
            s += "\"rstrip\": false, \"normalized\": false, \"special\": true}"
        }
        s += specialCount > 0 ? "\n  ],\n" : "],\n"
        s += "  \"normalizer\": null,\n"
        s += "  \"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": \(preTokenizer.addPrefixSpace), "
        s += "\"trim_offsets\": true, \"use_regex\": \(preTokenizer.useRegex)},\n"
        s += "  \"post_processor\": null,\n"
        s += "  \"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": true, \"use_regex\": true},\n"
        s += "  \"model\": {\n    \"type\": \"BPE\",\n    \"dropout\": null,\n    \"unk_token\": null,\n"
        s += "    \"continuing_subword_prefix\": null,\n    \"end_of_word_suffix\": null,\n    \"fuse_unk\": false,\n"
        s += "    \"byte_fallback\": false,\n    \"ignore_merges\": false,\n    \"vocab\": {"
        for (id, token) in tokens.enumerated() {
            s += id == 0 ? "\n      " : ",\n      "
            s += "\(quote(token)): \(id)"
        }
        s += "\n    },\n    \"merges\": ["
        for (k, m) in merges.enumerated() {
            s += k == 0 ? "\n      " : ",\n      "
            s += "[\(quote(m.0)), \(quote(m.1))]"
        }
        s += merges.isEmpty ? "]\n  }\n}\n" : "\n    ]\n  }\n}\n"
        return s
    }

    /// JSON string literal; non-ASCII stays raw UTF-8, control characters are escaped.
    static func quote(_ text: String) -> String {
        var out = "\""
        for u in text.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20:
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}
