// Trains a byte-level BPE vocabulary with the same pre-tokenization as the tokenizer, and writes a
// tokenizer.json that Hugging Face `tokenizers` loads and encodes identically.
//
// Determinism: words are counted, then each step merges the pair with the highest count; ties go
// to the smallest (left id, right id) pair. Ids: special tokens first (in the given order), then
// the 256 byte symbols ordered by their unicode scalar, then one id per merge in merge order.
// (HF's own trainer breaks ties differently, so its vocabularies differ from ours on ties.)
// Pair counts are kept up to date incrementally: a merge only revisits the words containing it.
import Foundation

public struct BPETrainer {
    public var vocabSize: Int
    public var specialTokens: [String]
    public var minFrequency: Int
    public var preTokenizer: ByteLevelOptions

    public init(vocabSize: Int, specialTokens: [String] = [], minFrequency: Int = 2,
                preTokenizer: ByteLevelOptions = ByteLevelOptions(addPrefixSpace: false, useRegex: true)) {
        self.vocabSize = vocabSize
        self.specialTokens = specialTokens
        self.minFrequency = minFrequency
        self.preTokenizer = preTokenizer
    }

    /// Trains on `texts` (special-token occurrences in the text are cut out, not learned).
    public func train<S: Sequence>(_ texts: S) throws -> BPETrainingResult where S.Element == String {
        if Set(specialTokens).count != specialTokens.count {
            throw TokenizerError.invalidTrainerSettings("special tokens contain duplicates: \(specialTokens)")
        }
        if specialTokens.contains("") { throw TokenizerError.invalidTrainerSettings("a special token is empty") }
        let base = specialTokens.count + 256
        guard vocabSize >= base else {
            throw TokenizerError.invalidTrainerSettings(
                "vocabSize \(vocabSize) is smaller than \(specialTokens.count) special tokens + 256 byte symbols = \(base)")
        }
        guard minFrequency >= 1 else { throw TokenizerError.invalidTrainerSettings("minFrequency must be >= 1") }

        // Vocabulary: specials, then the byte alphabet in scalar order.
        var tokens: [[UInt8]] = specialTokens.map { Array($0.utf8) }  // bytes each token stands for
        var tokenStrings: [String] = specialTokens
        var byteID = [Int32](repeating: 0, count: 256)
        let alphabet = (0..<256).sorted { ByteLevelAlphabet.byteToScalar[$0].value < ByteLevelAlphabet.byteToScalar[$1].value }
        for b in alphabet {
            byteID[b] = Int32(tokens.count)
            tokens.append([UInt8(b)])
            tokenStrings.append(String(Character(ByteLevelAlphabet.byteToScalar[b])))
        }
        var idOfBytes: [[UInt8]: Int32] = [:]
        for k in specialTokens.count..<tokens.count { idOfBytes[tokens[k]] = Int32(k) }
        // A merge that spells a special token's string maps to that id (tokenizer.json has one entry
        // per string, and HF's BPE looks merged strings up in the vocabulary).
        var idOfString: [String: Int32] = [:]
        for (k, t) in specialTokens.enumerated() {
            if tokenStrings[specialTokens.count...].contains(t) {
                throw TokenizerError.invalidTrainerSettings("special token '\(t)' equals a byte symbol of the alphabet")
            }
            idOfString[t] = Int32(k)
        }

        var state = WordCounts.count(texts, specialTokens: specialTokens, options: preTokenizer, byteID: byteID)
        var merges: [(Int32, Int32)] = []
        while tokens.count < vocabSize {
            guard let best = state.popBest(minFrequency: minFrequency) else { break }
            let (a, b) = (Int32(truncatingIfNeeded: best >> 32), Int32(truncatingIfNeeded: best & 0xFFFF_FFFF))
            let bytes = tokens[Int(a)] + tokens[Int(b)]
            let newID: Int32
            let merged = tokenStrings[Int(a)] + tokenStrings[Int(b)]
            if let existing = idOfBytes[bytes] ?? idOfString[merged] {
                newID = existing
            } else {
                newID = Int32(tokens.count)
                tokens.append(bytes)
                tokenStrings.append(merged)
                idOfBytes[bytes] = newID
            }
            merges.append((a, b))
            state.apply(pair: best, newID: newID)
        }
        return BPETrainingResult(tokens: tokenStrings, specialCount: specialTokens.count,
                                 merges: merges.map { (tokenStrings[Int($0.0)], tokenStrings[Int($0.1)]) },
                                 preTokenizer: preTokenizer)
    }
}

/// Words with their counts and the incremental pair statistics over them.
struct WordCounts {
    var words: [[Int32]] = []
    var counts: [Int] = []
    var pairCounts: [UInt64: Int] = [:]
    var pairWords: [UInt64: Set<Int32>] = [:]
    var heap = PairHeap()

    static func count<S: Sequence>(_ texts: S, specialTokens: [String], options: ByteLevelOptions,
                                   byteID: [Int32]) -> WordCounts where S.Element == String {
        let matcher = AddedTokenMatcher(specialTokens.enumerated().map { AddedToken(id: $0.offset, content: $0.element, special: true) })
        var byWord: [[UInt8]: Int] = [:]
        var segments: [TextSegment] = []
        var pieces: [Range<Int>] = []
        for text in texts {
            var text = text
            text.withUTF8 { p in
                segments.removeAll(keepingCapacity: true)
                matcher.split(p, 0, p.count, into: &segments)
                for s in segments where s.addedTokenID == nil && !s.range.isEmpty {
                    var buffer: [UInt8] = []
                    if options.addPrefixSpace && p[s.range.lowerBound] != 0x20 { buffer.append(0x20) }
                    buffer.append(contentsOf: p[s.range])
                    buffer.withUnsafeBufferPointer { q in
                        pieces.removeAll(keepingCapacity: true)
                        if options.useRegex { GPT2Splitter.split(q, 0, q.count, into: &pieces) } else { pieces.append(0..<q.count) }
                        for r in pieces { byWord[Array(q[r]), default: 0] += 1 }
                    }
                }
            }
        }
        // Sorted so that word indices (and everything after) do not depend on hashing order.
        var state = WordCounts()
        for (bytes, c) in byWord.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            let w = Int32(state.words.count)
            let ids = bytes.map { byteID[Int($0)] }
            state.words.append(ids)
            state.counts.append(c)
            for k in 0..<max(0, ids.count - 1) {
                let key = BPEModel.key(ids[k], ids[k + 1])
                state.pairCounts[key, default: 0] += c
                state.pairWords[key, default: []].insert(w)
            }
        }
        for (key, c) in state.pairCounts { state.heap.push(count: c, pair: key) }
        return state
    }

    /// The pair with the highest count (ties: smallest pair), or nil when none reaches minFrequency.
    mutating func popBest(minFrequency: Int) -> UInt64? {
        while let top = heap.pop() {
            let actual = pairCounts[top.pair] ?? 0
            if actual != top.count {  // stale entry: counts only fall, so re-queue the current value
                if actual > 0 { heap.push(count: actual, pair: top.pair) }
                continue
            }
            return actual >= minFrequency ? top.pair : nil
        }
        return nil
    }

    /// Replaces every occurrence of `pair` (left to right, non-overlapping) by `newID`.
    mutating func apply(pair: UInt64, newID: Int32) {
        let a = Int32(truncatingIfNeeded: pair >> 32), b = Int32(truncatingIfNeeded: pair & 0xFFFF_FFFF)
        var grown = Set<UInt64>()
        for w in pairWords[pair] ?? [] {
            let old = words[Int(w)]
            let c = counts[Int(w)]
            var merged: [Int32] = []
            merged.reserveCapacity(old.count)
            var k = 0
            var changed = false
            while k < old.count {
                if k + 1 < old.count && old[k] == a && old[k + 1] == b {
                    merged.append(newID)
                    k += 2
                    changed = true
                } else {
                    merged.append(old[k])
                    k += 1
                }
            }
            if !changed { continue }
            for k in 0..<(old.count - 1) {
                let key = BPEModel.key(old[k], old[k + 1])
                let v = (pairCounts[key] ?? 0) - c
                pairCounts[key] = v > 0 ? v : nil
            }
            for k in 0..<max(0, merged.count - 1) {
                let key = BPEModel.key(merged[k], merged[k + 1])
                pairCounts[key, default: 0] += c
                if merged[k] == newID || merged[k + 1] == newID {
                    pairWords[key, default: []].insert(w)
                    grown.insert(key)
                }
            }
            words[Int(w)] = merged
        }
        pairWords[pair] = nil
        pairCounts[pair] = nil
        for key in grown { if let c = pairCounts[key] { heap.push(count: c, pair: key) } }
    }
}

/// Max-heap of (count, pair); equal counts pop the smallest pair first.
struct PairHeap {
    private var items: [(count: Int, pair: UInt64)] = []

    @inline(__always)
    private func before(_ x: (count: Int, pair: UInt64), _ y: (count: Int, pair: UInt64)) -> Bool {
        x.count != y.count ? x.count > y.count : x.pair < y.pair
    }

    mutating func push(count: Int, pair: UInt64) {
        items.append((count, pair))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if !before(items[i], items[parent]) { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> (count: Int, pair: UInt64)? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if items.isEmpty { return first }
        items[0] = last
        var i = 0
        let n = items.count
        while true {
            let l = 2 * i + 1, r = l + 1
            var best = i
            if l < n && before(items[l], items[best]) { best = l }
            if r < n && before(items[r], items[best]) { best = r }
            if best == i { break }
            items.swapAt(i, best)
            i = best
        }
        return first
    }
}

/// A trained vocabulary: make a `Tokenizer` from it or write it as tokenizer.json.
public struct BPETrainingResult {
    /// Token strings by id (specials, byte symbols, merged tokens).
    public let tokens: [String]
    public let specialCount: Int
    /// Merges in rank order, as token strings.
    public let merges: [(String, String)]
    public let preTokenizer: ByteLevelOptions

    /// The tokenizer.json text (same layout as the MiniMind files; UTF-8, keys in HF's order).
    public func tokenizerJSON() -> String {
        TokenizerJSONWriter.write(tokens: tokens, specialCount: specialCount, merges: merges, preTokenizer: preTokenizer)
    }

    /// Writes tokenizer.json to `url` (a file path, or a folder that receives tokenizer.json).
    @discardableResult
    public func write(to url: URL) throws -> URL {
        var isDir: ObjCBool = false
        let file = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) && isDir.boolValue
            ? url.appendingPathComponent("tokenizer.json") : url
        do {
            try Data(tokenizerJSON().utf8).write(to: file, options: .atomic)
        } catch {
            throw TokenizerError.writeFailed(path: file.path, reason: error.localizedDescription)
        }
        return file
    }

    /// A tokenizer using this vocabulary (same as loading the written file).
    public func makeTokenizer() throws -> Tokenizer {
        try Tokenizer(tokenizerJSON: Data(tokenizerJSON().utf8), path: "trained tokenizer.json")
    }
}
