// Reading tokenizer.json and tokenizer_config.json into plain values, with typed errors that name
// the file and key. Only the stages the MiniMind files use are accepted (see Docs/Tokenizer.md).
import Foundation

/// ByteLevel pre-tokenizer options from tokenizer.json.
public struct ByteLevelOptions: Equatable, Sendable {
    public var addPrefixSpace: Bool
    public var useRegex: Bool
    public init(addPrefixSpace: Bool = false, useRegex: Bool = true) {
        self.addPrefixSpace = addPrefixSpace
        self.useRegex = useRegex
    }
}

struct TokenizerFile {
    var vocab: [String: Int]
    var merges: [(String, String)]
    var addedTokens: [AddedToken]
    var preTokenizer: ByteLevelOptions
    var byteLevelDecoder: Bool  // false: no decoder (tokens joined by spaces, as HF does)
    var unkToken: String?
    var fuseUnk: Bool
    var ignoreMerges: Bool

    static func parse(_ data: Data, path: String) throws -> TokenizerFile {
        let root = try JSONObject.parse(data, path: path)
        let model = try root.object("model")
        if let type = model.optionalString("type"), type != "BPE" {
            throw TokenizerError.unsupported(path: path, key: "model.type", found: type, supported: "BPE")
        }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let s = model.optionalString(key), !s.isEmpty {
                throw TokenizerError.unsupported(path: path, key: "model.\(key)", found: "'\(s)'", supported: "null")
            }
        }
        if let d = model.dict["dropout"] as? NSNumber, d.doubleValue != 0 {
            throw TokenizerError.unsupported(path: path, key: "model.dropout", found: "\(d)", supported: "null or 0")
        }
        if model.optionalBool("byte_fallback") == true {
            throw TokenizerError.unsupported(path: path, key: "model.byte_fallback", found: "true", supported: "false")
        }
        let vocabObject = try model.object("vocab")
        var vocab = [String: Int](minimumCapacity: vocabObject.dict.count)
        for (token, value) in vocabObject.dict {
            guard let id = JSONObject.integer(value), id >= 0 else {
                throw TokenizerError.badField(path: path, key: "model.vocab[\(token)]", expected: "a non-negative integer id",
                                              found: JSONObject.describe(value))
            }
            vocab[token] = id
        }
        let merges = try parseMerges(model.dict["merges"] ?? [Any](), path: path)

        var added: [AddedToken] = []
        if let list = root.dict["added_tokens"], !(list is NSNull) {
            guard let items = list as? [Any] else {
                throw TokenizerError.badField(path: path, key: "added_tokens", expected: "an array", found: JSONObject.describe(list))
            }
            for (k, item) in items.enumerated() {
                let o = try JSONObject.wrap(item, key: "added_tokens[\(k)]", path: path)
                let id = try o.int("id")
                let content = try o.string("content")
                added.append(AddedToken(id: id, content: content, special: o.optionalBool("special") ?? false,
                                        singleWord: o.optionalBool("single_word") ?? false,
                                        lstrip: o.optionalBool("lstrip") ?? false,
                                        rstrip: o.optionalBool("rstrip") ?? false,
                                        normalized: o.optionalBool("normalized") ?? false))
            }
        }

        if let n = root.dict["normalizer"], !(n is NSNull) {
            let type = (n as? [String: Any])?["type"] as? String ?? JSONObject.describe(n)
            throw TokenizerError.unsupported(path: path, key: "normalizer", found: type, supported: "null")
        }
        let pre = try JSONObject.wrap(root.dict["pre_tokenizer"] ?? NSNull(), key: "pre_tokenizer", path: path)
        guard pre.optionalString("type") == "ByteLevel" else {
            throw TokenizerError.unsupported(path: path, key: "pre_tokenizer.type",
                                             found: pre.optionalString("type") ?? "missing", supported: "ByteLevel")
        }
        let options = ByteLevelOptions(addPrefixSpace: pre.optionalBool("add_prefix_space") ?? true,
                                       useRegex: pre.optionalBool("use_regex") ?? true)
        var byteLevelDecoder = false
        if let d = root.dict["decoder"], !(d is NSNull) {
            let type = (d as? [String: Any])?["type"] as? String ?? "missing"
            guard type == "ByteLevel" else {
                throw TokenizerError.unsupported(path: path, key: "decoder.type", found: type, supported: "ByteLevel or null")
            }
            byteLevelDecoder = true
        }
        return TokenizerFile(vocab: vocab, merges: merges, addedTokens: added, preTokenizer: options,
                             byteLevelDecoder: byteLevelDecoder,
                             unkToken: model.optionalString("unk_token"),
                             fuseUnk: model.optionalBool("fuse_unk") ?? false,
                             ignoreMerges: model.optionalBool("ignore_merges") ?? false)
    }

    /// Merges are either "a b" strings (older files) or ["a", "b"] pairs (tokenizers >= 0.20).
    private static func parseMerges(_ value: Any, path: String) throws -> [(String, String)] {
        guard let list = value as? [Any] else {
            throw TokenizerError.badField(path: path, key: "model.merges", expected: "an array", found: JSONObject.describe(value))
        }
        var merges: [(String, String)] = []
        merges.reserveCapacity(list.count)
        for (k, item) in list.enumerated() {
            if let pair = item as? [Any], pair.count == 2, let a = pair[0] as? String, let b = pair[1] as? String {
                merges.append((a, b))
            } else if let line = item as? String {
                let parts = line.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else {
                    throw TokenizerError.badField(path: path, key: "model.merges[\(k)]", expected: "\"left right\"",
                                                  found: "'\(line)'")
                }
                merges.append((String(parts[0]), String(parts[1])))
            } else {
                throw TokenizerError.badField(path: path, key: "model.merges[\(k)]", expected: "a pair of token strings",
                                              found: JSONObject.describe(item))
            }
        }
        return merges
    }
}

/// tokenizer_config.json: special token names and the chat template.
struct TokenizerConfigFile {
    var bosToken: String?
    var eosToken: String?
    var padToken: String?
    var unkToken: String?
    var chatTemplate: String?

    static func parse(_ data: Data, path: String) throws -> TokenizerConfigFile {
        let root = try JSONObject.parse(data, path: path)
        func token(_ key: String) throws -> String? {
            guard let v = root.dict[key], !(v is NSNull) else { return nil }
            if let s = v as? String { return s }
            if let o = v as? [String: Any], let s = o["content"] as? String { return s }
            throw TokenizerError.badField(path: path, key: key, expected: "a token string or {\"content\": ...}",
                                          found: JSONObject.describe(v))
        }
        var template: String? = nil
        if let t = root.dict["chat_template"], !(t is NSNull) {
            if let s = t as? String {
                template = s
            } else if let list = t as? [[String: Any]] {  // [{"name": "default", "template": "..."}]
                template = (list.first { ($0["name"] as? String) == "default" } ?? list.first)?["template"] as? String
            } else {
                throw TokenizerError.badField(path: path, key: "chat_template", expected: "a string",
                                              found: JSONObject.describe(t))
            }
        }
        return TokenizerConfigFile(bosToken: try token("bos_token"), eosToken: try token("eos_token"),
                                   padToken: try token("pad_token"), unkToken: try token("unk_token"),
                                   chatTemplate: template)
    }
}

/// A JSON object from JSONSerialization with typed accessors that report file and key.
struct JSONObject {
    let dict: [String: Any]
    let path: String
    let prefix: String

    static func parse(_ data: Data, path: String) throws -> JSONObject {
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: data, options: [])
        } catch {
            throw TokenizerError.invalidJSON(path: path, reason: "\(error.localizedDescription)")
        }
        guard let dict = value as? [String: Any] else {
            throw TokenizerError.invalidJSON(path: path, reason: "the top level is \(describe(value)), expected an object")
        }
        return JSONObject(dict: dict, path: path, prefix: "")
    }

    static func wrap(_ value: Any, key: String, path: String) throws -> JSONObject {
        guard let dict = value as? [String: Any] else {
            throw TokenizerError.badField(path: path, key: key, expected: "an object", found: describe(value))
        }
        return JSONObject(dict: dict, path: path, prefix: key + ".")
    }

    func object(_ key: String) throws -> JSONObject {
        try JSONObject.wrap(dict[key] ?? NSNull(), key: prefix + key, path: path)
    }

    func string(_ key: String) throws -> String {
        guard let s = dict[key] as? String else {
            throw TokenizerError.badField(path: path, key: prefix + key, expected: "a string", found: JSONObject.describe(dict[key]))
        }
        return s
    }

    func int(_ key: String) throws -> Int {
        guard let v = dict[key], let i = JSONObject.integer(v), i >= 0 else {
            throw TokenizerError.badField(path: path, key: prefix + key, expected: "a non-negative integer",
                                          found: JSONObject.describe(dict[key]))
        }
        return i
    }

    func optionalString(_ key: String) -> String? { dict[key] as? String }

    func optionalBool(_ key: String) -> Bool? {
        dict[key] as? Bool
    }

    static func integer(_ value: Any) -> Int? {
        if let i = value as? Int { return i }
        if let n = value as? NSNumber {
            let d = n.doubleValue
            if d == d.rounded(), abs(d) < 1e15 { return Int(d) }
        }
        return nil
    }

    static func describe(_ value: Any?) -> String {
        switch value {
        case nil, is NSNull: return "nothing"
        case let s as String: return "the string '\(s.prefix(40))'"
        case is [Any]: return "an array"
        case is [String: Any]: return "an object"
        case let n as NSNumber: return "the number \(n)"
        default: return "\(type(of: value))"
        }
    }
}
