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
        if let d = model.value("dropout"), d != .null, d != .int(0), d != .double(0) {
            throw TokenizerError.unsupported(path: path, key: "model.dropout", found: d.pythonJSON, supported: "null or 0")
        }
        if model.optionalBool("byte_fallback") == true {
            throw TokenizerError.unsupported(path: path, key: "model.byte_fallback", found: "true", supported: "false")
        }
        let vocabObject = try model.object("vocab")
        var vocab = [String: Int](minimumCapacity: vocabObject.pairs.count)
        for (token, value) in vocabObject.pairs {
            guard case let .int(id) = value, id >= 0 else {
                throw TokenizerError.badField(path: path, key: "model.vocab[\(token)]", expected: "a non-negative integer id",
                                              found: JSONObject.describe(value))
            }
            try Self.checkID(id, key: "model.vocab[\(token)]", path: path)
            vocab[token] = id
        }
        let merges = try parseMerges(model.value("merges") ?? .array([]), path: path)

        var added: [AddedToken] = []
        if let list = root.value("added_tokens"), list != .null {
            guard case let .array(items) = list else {
                throw TokenizerError.badField(path: path, key: "added_tokens", expected: "an array", found: JSONObject.describe(list))
            }
            for (k, item) in items.enumerated() {
                let o = try JSONObject.wrap(item, key: "added_tokens[\(k)]", path: path)
                let id = try o.int("id")
                try Self.checkID(id, key: "added_tokens[\(k)].id", path: path)
                added.append(AddedToken(id: id, content: try o.string("content"),
                                        special: o.optionalBool("special") ?? false,
                                        singleWord: o.optionalBool("single_word") ?? false,
                                        lstrip: o.optionalBool("lstrip") ?? false,
                                        rstrip: o.optionalBool("rstrip") ?? false,
                                        normalized: o.optionalBool("normalized") ?? false))
            }
        }

        if let n = root.value("normalizer"), n != .null {
            throw TokenizerError.unsupported(path: path, key: "normalizer", found: n["type"]?.stringValue ?? JSONObject.describe(n),
                                             supported: "null")
        }
        let pre = try JSONObject.wrap(root.value("pre_tokenizer") ?? .null, key: "pre_tokenizer", path: path)
        guard pre.optionalString("type") == "ByteLevel" else {
            throw TokenizerError.unsupported(path: path, key: "pre_tokenizer.type",
                                             found: pre.optionalString("type") ?? "missing", supported: "ByteLevel")
        }
        let options = ByteLevelOptions(addPrefixSpace: pre.optionalBool("add_prefix_space") ?? true,
                                       useRegex: pre.optionalBool("use_regex") ?? true)
        var byteLevelDecoder = false
        if let d = root.value("decoder"), d != .null {
            let type = d["type"]?.stringValue ?? "missing"
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
    private static func parseMerges(_ value: OrderedJSON, path: String) throws -> [(String, String)] {
        guard case let .array(list) = value else {
            throw TokenizerError.badField(path: path, key: "model.merges", expected: "an array", found: JSONObject.describe(value))
        }
        var merges: [(String, String)] = []
        merges.reserveCapacity(list.count)
        for (k, item) in list.enumerated() {
            switch item {
            case let .array(pair) where pair.count == 2 && pair[0].stringValue != nil && pair[1].stringValue != nil:
                merges.append((pair[0].stringValue ?? "", pair[1].stringValue ?? ""))
            case let .string(line):
                let parts = line.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else {
                    throw TokenizerError.badField(path: path, key: "model.merges[\(k)]", expected: "\"left right\"",
                                                  found: "'\(line)'")
                }
                merges.append((String(parts[0]), String(parts[1])))
            default:
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
            guard let v = root.value(key), v != .null else { return nil }
            if let s = v.stringValue ?? v["content"]?.stringValue { return s }
            throw TokenizerError.badField(path: path, key: key, expected: "a token string or {\"content\": ...}",
                                          found: JSONObject.describe(v))
        }
        var template: String? = nil
        if let t = root.value("chat_template"), t != .null {
            if let s = t.stringValue {
                template = s
            } else if case let .array(list) = t {  // [{"name": "default", "template": "..."}]
                template = (list.first { $0["name"]?.stringValue == "default" } ?? list.first)?["template"]?.stringValue
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

/// A JSON object with typed accessors whose errors name the file and key.
struct JSONObject {
    let pairs: [(key: String, value: OrderedJSON)]
    let path: String
    let prefix: String

    static func parse(_ data: Data, path: String) throws -> JSONObject {
        let value: OrderedJSON
        do {
            value = try OrderedJSON.parse([UInt8](data))
        } catch {
            throw TokenizerError.invalidJSON(path: path, reason: "\(error)")
        }
        guard case let .object(pairs) = value else {
            throw TokenizerError.invalidJSON(path: path, reason: "the top level is \(describe(value)), expected an object")
        }
        return JSONObject(pairs: pairs, path: path, prefix: "")
    }

    static func wrap(_ value: OrderedJSON, key: String, path: String) throws -> JSONObject {
        guard case let .object(pairs) = value else {
            throw TokenizerError.badField(path: path, key: key, expected: "an object", found: describe(value))
        }
        return JSONObject(pairs: pairs, path: path, prefix: key + ".")
    }

    func value(_ key: String) -> OrderedJSON? { pairs.first { $0.key == key }?.value }

    func object(_ key: String) throws -> JSONObject {
        try JSONObject.wrap(value(key) ?? .null, key: prefix + key, path: path)
    }

    func string(_ key: String) throws -> String {
        guard let s = value(key)?.stringValue else {
            throw TokenizerError.badField(path: path, key: prefix + key, expected: "a string", found: JSONObject.describe(value(key)))
        }
        return s
    }

    func int(_ key: String) throws -> Int {
        guard case let .int(i)? = value(key), i >= 0 else {
            throw TokenizerError.badField(path: path, key: prefix + key, expected: "a non-negative integer",
                                          found: JSONObject.describe(value(key)))
        }
        return i
    }

    func optionalString(_ key: String) -> String? { value(key)?.stringValue }

    func optionalBool(_ key: String) -> Bool? {
        if case let .bool(b)? = value(key) { return b }
        return nil
    }

    static func describe(_ value: OrderedJSON?) -> String {
        switch value {
        case nil, .null?: return "nothing"
        case let .string(s)?: return "the string '\(s.prefix(40))'"
        case .array?: return "an array"
        case .object?: return "an object"
        case let .bool(b)?: return "\(b)"
        case let .int(i)?: return "the number \(i)"
        case let .double(d)?: return "the number \(d)"
        }
    }
}


extension TokenizerFile {
    /// Ids index tables of max id + 1 entries (id → token bytes, merges pack ids into 32 bits), so
    /// an id is checked before anything is allocated for it.
    static let maxTokenID = 1 << 22 - 1

    static func checkID(_ id: Int, key: String, path: String) throws {
        guard (0...maxTokenID).contains(id) else {
            throw TokenizerError.valueOutOfRange(path: path, key: key, value: "\(id)", allowed: "0...\(maxTokenID)")
        }
    }
}
