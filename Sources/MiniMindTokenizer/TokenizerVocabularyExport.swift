// The vocabulary and merges as lists, for writers of other tokenizer formats (GGUF's
// tokenizer.ggml.* arrays), in the byte-level alphabet tokenizer.json uses.
import Foundation

extension Tokenizer {
    /// The token string of each id below `count` (added tokens by their content), nil for ids no token has.
    public func tokenStrings(count: Int) -> [String?] {
        (0..<max(count, 0)).map { idToToken($0) }
    }

    /// The BPE merges in rank order (the order of tokenizer.json's `model.merges`).
    public var mergesInRankOrder: [(String, String)] {
        model.merges.sorted { $0.value.rank < $1.value.rank }.compactMap { key, _ in
            let (a, b) = (Int(key >> 32), Int(key & 0xFFFF_FFFF))
            guard let left = model.idToToken[a], let right = model.idToToken[b] else { return nil }
            return (left, right)
        }
    }
}
