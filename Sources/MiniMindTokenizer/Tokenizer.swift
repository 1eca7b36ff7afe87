// A Hugging Face byte-level BPE tokenizer (tokenizer.json + tokenizer_config.json).
// encode: added tokens -> ByteLevel pre-tokenizer (GPT-2 split) -> BPE merges; no BOS/EOS added.
// decode: ids -> token strings -> ByteLevel decoder -> UTF-8 with U+FFFD for broken bytes.
import Foundation

/// A Hugging Face byte-level BPE tokenizer, encoding and decoding exactly as the `tokenizers` library.
///
///     let tokenizer = try Tokenizer(contentsOf: URL(fileURLWithPath: "model-folder"))   // tokenizer.json
///     let ids = tokenizer.encode("<|im_start|>user\nhello<|im_end|>")                 // no BOS/EOS added
///     let text = tokenizer.decode(ids, skipSpecialTokens: true)
public final class Tokenizer: @unchecked Sendable {
    public let addedTokens: [AddedToken]
    public let preTokenizer: ByteLevelOptions
    /// Jinja chat template text from tokenizer_config.json, if any.
    public let chatTemplateText: String?
    public let bosToken: String?
    public let eosToken: String?
    public let padToken: String?
    public let bosTokenID: Int?
    public let eosTokenID: Int?
    public let padTokenID: Int?
    /// HF `get_vocab_size(with_added_tokens: true)`: distinct token strings in vocab + added tokens.
    public let vocabSize: Int
    /// The largest id the tokenizer can produce (a model needs an embedding row for each id up to it).
    public var maxTokenID: Int { tokenBytes.count - 1 }

    let model: BPEModel
    private let addedByID: [Int: AddedToken]
    private let addedByContent: [String: Int]
    private let rawMatcher: AddedTokenMatcher         // normalized: false
    private let normalizedMatcher: AddedTokenMatcher  // normalized: true (no normalizer, same text)
    private let byteLevelDecoder: Bool
    /// Decoded bytes of each id below `tokenBytes.count` (nil: unknown id).
    private let tokenBytes: [[UInt8]?]
    private let specialIDs: Set<Int>

    /// Loads `tokenizer.json` (+ `tokenizer_config.json` beside it) from a folder or a file path.
    public convenience init(contentsOf url: URL) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw TokenizerError.unreadableFile(path: url.path, reason: "no such file or folder")
        }
        let file = isDir.boolValue ? url.appendingPathComponent("tokenizer.json") : url
        let configURL = file.deletingLastPathComponent().appendingPathComponent("tokenizer_config.json")
        let data = try Self.read(file)
        let config = FileManager.default.fileExists(atPath: configURL.path) ? try Self.read(configURL) : nil
        try self.init(tokenizerJSON: data, configJSON: config, path: file.path, configPath: configURL.path)
    }

    public convenience init(path: String) throws {
        try self.init(contentsOf: URL(fileURLWithPath: path))
    }

    /// Builds a tokenizer from the bytes of tokenizer.json and (optionally) tokenizer_config.json.
    public convenience init(tokenizerJSON: Data, configJSON: Data? = nil, path: String = "tokenizer.json",
                            configPath: String = "tokenizer_config.json") throws {
        let file = try TokenizerFile.parse(tokenizerJSON, path: path)
        let config = try configJSON.map { try TokenizerConfigFile.parse($0, path: configPath) }
        try self.init(file: file, config: config, path: path, configPath: configPath)
    }

    init(file: TokenizerFile, config: TokenizerConfigFile?, path: String, configPath: String) throws {
        model = try BPEModel(vocab: file.vocab, merges: file.merges, unkToken: file.unkToken, fuseUnk: file.fuseUnk,
                             ignoreMerges: file.ignoreMerges, path: path)
        addedTokens = file.addedTokens
        preTokenizer = file.preTokenizer
        byteLevelDecoder = file.byteLevelDecoder
        var byID: [Int: AddedToken] = [:]
        var byContent: [String: Int] = [:]
        for t in file.addedTokens {
            byID[t.id] = t
            byContent[t.content] = t.id
        }
        addedByID = byID
        addedByContent = byContent
        rawMatcher = AddedTokenMatcher(file.addedTokens.filter { !$0.normalized })
        normalizedMatcher = AddedTokenMatcher(file.addedTokens.filter { $0.normalized })
        specialIDs = Set(file.addedTokens.filter { $0.special }.map { $0.id })
        var names = Set(file.vocab.keys)
        for t in file.addedTokens { names.insert(t.content) }
        vocabSize = names.count

        let maxID = max(file.vocab.values.max() ?? -1, file.addedTokens.map { $0.id }.max() ?? -1)
        var bytes = [[UInt8]?](repeating: nil, count: maxID + 1)
        for (token, id) in file.vocab where byID[id] == nil {
            bytes[id] = file.byteLevelDecoder ? ByteLevelAlphabet.decode(token) : Array(token.utf8)
        }
        for t in file.addedTokens {
            bytes[t.id] = file.byteLevelDecoder ? ByteLevelAlphabet.decode(t.content) : Array(t.content.utf8)
        }
        tokenBytes = bytes

        chatTemplateText = config?.chatTemplate
        bosToken = config?.bosToken
        eosToken = config?.eosToken
        padToken = config?.padToken
        func lookup(_ token: String?, _ key: String) throws -> Int? {
            guard let token = token else { return nil }
            guard let id = byContent[token] ?? file.vocab[token] else {
                throw TokenizerError.unknownToken(path: configPath, key: key, token: token)
            }
            return id
        }
        bosTokenID = try lookup(config?.bosToken, "bos_token")
        eosTokenID = try lookup(config?.eosToken, "eos_token")
        padTokenID = try lookup(config?.padToken, "pad_token")
    }

    private static func read(_ url: URL) throws -> Data {
        do {
            return try Data(contentsOf: url)
        } catch {
            throw TokenizerError.unreadableFile(path: url.path, reason: error.localizedDescription)
        }
    }

    // MARK: - Lookup

    /// Id of a token string (added tokens first, then the BPE vocabulary).
    public func tokenToId(_ token: String) -> Int? { addedByContent[token] ?? model.vocab[token] }

    /// Token string of an id (added tokens first, then the BPE vocabulary).
    public func idToToken(_ id: Int) -> String? { addedByID[id]?.content ?? model.idToToken[id] }

    /// Whether an id is an added token marked `special` (skipped by `decode(skipSpecialTokens: true)`).
    public func isSpecial(_ id: Int) -> Bool { specialIDs.contains(id) }

    // MARK: - Encode

    /// Token ids of `text` (no BOS/EOS added; HF `encode(text, add_special_tokens=False)`).
    public func encode(_ text: String) -> [Int] {
        var text = text
        return text.withUTF8 { encode(utf8: $0) }
    }

    /// Token ids of valid UTF-8 bytes.
    public func encode(utf8 p: UnsafeBufferPointer<UInt8>) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(p.count / 3 + 4)
        var segments: [TextSegment] = []
        if rawMatcher.isEmpty {
            segments.append(TextSegment(range: 0..<p.count, addedTokenID: nil))
        } else {
            rawMatcher.split(p, 0, p.count, into: &segments)
        }
        if !normalizedMatcher.isEmpty {
            var second: [TextSegment] = []
            for s in segments {
                if s.addedTokenID != nil { second.append(s) } else {
                    normalizedMatcher.split(p, s.range.lowerBound, s.range.upperBound, into: &second)
                }
            }
            segments = second
        }
        var pieces: [Range<Int>] = []
        for s in segments {
            if let id = s.addedTokenID { out.append(id); continue }
            if s.range.isEmpty { continue }
            if preTokenizer.addPrefixSpace && p[s.range.lowerBound] != 0x20 {
                // HF prepends a space to each text segment that does not start with one.
                var buffer: [UInt8] = [0x20]
                buffer.append(contentsOf: p[s.range])
                buffer.withUnsafeBufferPointer { encodeSegment($0, 0..<$0.count, &pieces, &out) }
            } else {
                encodeSegment(p, s.range, &pieces, &out)
            }
        }
        return out
    }

    private func encodeSegment(_ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ pieces: inout [Range<Int>],
                               _ out: inout [Int]) {
        pieces.removeAll(keepingCapacity: true)
        if preTokenizer.useRegex {
            GPT2Splitter.split(p, range.lowerBound, range.upperBound, into: &pieces)
        } else {
            pieces.append(range)
        }
        for piece in pieces { model.tokenize(p, piece, into: &out) }
    }

    // MARK: - Decode

    /// Text of `ids` like HF `decode`: unknown ids are skipped, special added tokens are skipped when
    /// asked, and bytes that do not form valid UTF-8 become U+FFFD.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        guard byteLevelDecoder else {
            return ids.compactMap { id in
                (skipSpecialTokens && specialIDs.contains(id)) ? nil : idToToken(id)
            }.joined(separator: " ")
        }
        return UTF8Repair.string(decodeBytes(ids, skipSpecialTokens: skipSpecialTokens))
    }

    /// Raw bytes of `ids` (before UTF-8 repair).
    public func decodeBytes(_ ids: [Int], skipSpecialTokens: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        for id in ids { appendBytes(of: id, skipSpecialTokens: skipSpecialTokens, to: &out) }
        return out
    }

    /// Bytes of one id appended to `out`; returns false for an unknown id.
    @discardableResult
    func appendBytes(of id: Int, skipSpecialTokens: Bool, to out: inout [UInt8]) -> Bool {
        guard id >= 0, id < tokenBytes.count, let bytes = tokenBytes[id] else { return false }
        if skipSpecialTokens && specialIDs.contains(id) { return true }
        out.append(contentsOf: bytes)
        return true
    }

    /// Whether `id` names a token (vocabulary or added).
    public func contains(id: Int) -> Bool { id >= 0 && id < tokenBytes.count && tokenBytes[id] != nil }
}
