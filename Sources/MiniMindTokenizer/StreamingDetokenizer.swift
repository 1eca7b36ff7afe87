// Turns ids into text one at a time for generation output. Bytes of a character split across
// tokens are held back until the character is complete, so no piece ends in a broken character;
// the pieces concatenate to exactly `decode(allIds)`.

public final class StreamingDetokenizer {
    public let tokenizer: Tokenizer
    public let skipSpecialTokens: Bool
    private var pending: [UInt8] = []

    public init(tokenizer: Tokenizer, skipSpecialTokens: Bool = true) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
    }

    /// Adds one id; returns the text that became complete (often empty mid-character).
    public func push(_ id: Int) -> String {
        tokenizer.appendBytes(of: id, skipSpecialTokens: skipSpecialTokens, to: &pending)
        if pending.isEmpty { return "" }
        let cut = pending.withUnsafeBufferPointer { UTF8Repair.incompleteTailStart($0) }
        if cut == 0 { return "" }
        let text = pending.withUnsafeBufferPointer { UTF8Repair.string(UnsafeBufferPointer(rebasing: $0[0..<cut])) }
        pending.removeFirst(cut)
        return text
    }

    /// Flushes what is left at the end of the stream (an unfinished character becomes U+FFFD).
    public func finish() -> String {
        let text = UTF8Repair.string(pending)
        pending.removeAll()
        return text
    }

    /// Bytes waiting for the rest of their character.
    public var pendingByteCount: Int { pending.count }
}
