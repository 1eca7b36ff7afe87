// Added tokens (special or not) are cut out of the text before pre-tokenization, like HF's
// AddedVocabulary: first the non-normalized tokens, then the normalized ones in the remaining
// pieces; leftmost-longest, non-overlapping matches; then single_word / lstrip / rstrip.

public struct AddedToken: Equatable, Sendable {
    public var id: Int
    public var content: String
    public var special: Bool
    public var singleWord: Bool
    public var lstrip: Bool
    public var rstrip: Bool
    public var normalized: Bool

    public init(id: Int, content: String, special: Bool, singleWord: Bool = false, lstrip: Bool = false,
                rstrip: Bool = false, normalized: Bool = false) {
        self.id = id
        self.content = content
        self.special = special
        self.singleWord = singleWord
        self.lstrip = lstrip
        self.rstrip = rstrip
        self.normalized = normalized
    }
}

/// One piece of the input after added-token extraction: either an added token id or raw text.
struct TextSegment {
    var range: Range<Int>
    var addedTokenID: Int?  // nil: plain text to pre-tokenize and run through BPE
}

/// Leftmost-longest matching of a fixed set of byte strings.
struct AddedTokenMatcher {
    private let tokens: [(bytes: [UInt8], token: AddedToken)]
    /// Candidates by first byte, longest first.
    private var byFirstByte: [[Int]]

    init(_ tokens: [AddedToken]) {
        self.tokens = tokens.filter { !$0.content.isEmpty }.map { (Array($0.content.utf8), $0) }
        byFirstByte = Array(repeating: [], count: 256)
        for (k, t) in self.tokens.enumerated() { byFirstByte[Int(t.bytes[0])].append(k) }
        for b in 0..<256 {
            byFirstByte[b].sort { self.tokens[$0].bytes.count > self.tokens[$1].bytes.count }
        }
    }

    var isEmpty: Bool { tokens.isEmpty }

    /// Splits `p[start..<end]` into text and added-token segments (HF `find_matches`).
    func split(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, into out: inout [TextSegment]) {
        var startOffset = start
        var i = start
        while i < end {
            let candidates = byFirstByte[Int(p[i])]
            var matched: Int? = nil
            for k in candidates where Self.matches(p, i, end, tokens[k].bytes) {
                matched = k
                break
            }
            guard let k = matched else { i += 1; continue }
            let token = tokens[k].token
            var mStart = i
            var mStop = i + tokens[k].bytes.count
            i = mStop  // the automaton resumes after the raw match, whatever the flags do
            if token.singleWord {
                let startOK = mStart == start || !Self.endsWithWord(p, start, mStart)
                let stopOK = mStop == end || !Self.startsWithWord(p, mStop, end)
                if !startOK || !stopOK { continue }
            }
            if token.lstrip {
                mStart = max(Self.leadingEdgeOfTrailingSpace(p, start, mStart), startOffset)
            }
            if token.rstrip {
                mStop = Self.trailingEdgeOfLeadingSpace(p, mStop, end)
            }
            if startOffset < mStart { out.append(TextSegment(range: startOffset..<mStart, addedTokenID: nil)) }
            out.append(TextSegment(range: mStart..<mStop, addedTokenID: token.id))
            startOffset = mStop
        }
        if startOffset < end { out.append(TextSegment(range: startOffset..<end, addedTokenID: nil)) }
    }

    @inline(__always)
    private static func matches(_ p: UnsafeBufferPointer<UInt8>, _ i: Int, _ end: Int, _ bytes: [UInt8]) -> Bool {
        if end - i < bytes.count { return false }
        for (k, b) in bytes.enumerated() where p[i + k] != b { return false }
        return true
    }

    private static func endsWithWord(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
        guard end > start else { return false }
        let j = UTF8Walk.previousStart(p, before: end)
        return UnicodeClasses.isWordScalar(UTF8Walk.decode(p, j).value)
    }

    private static func startsWithWord(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
        guard start < end else { return false }
        return UnicodeClasses.isWordScalar(UTF8Walk.decode(p, start).value)
    }

    /// Start of the whitespace run that ends at `end` (HF: `\s*$` on the text before the match).
    private static func leadingEdgeOfTrailingSpace(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Int {
        var j = end
        while j > start {
            let k = UTF8Walk.previousStart(p, before: j)
            if !UnicodeClasses.isWhitespaceScalar(UTF8Walk.decode(p, k).value) { break }
            j = k
        }
        return j
    }

    /// End of the whitespace run that starts at `start` (HF: `^\s*` on the text after the match).
    private static func trailingEdgeOfLeadingSpace(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Int {
        var j = start
        while j < end {
            let (v, l) = UTF8Walk.decode(p, j)
            if !UnicodeClasses.isWhitespaceScalar(v) { break }
            j += l
        }
        return j
    }
}
