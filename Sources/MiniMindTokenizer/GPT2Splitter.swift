// The GPT-2 pre-tokenization regex, written out by hand over UTF-8 bytes:
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// Alternatives are tried in that order at each position (leftmost-first, as Oniguruma does).
// Every scalar belongs to one of the classes, so the pieces cover the whole input.

enum GPT2Splitter {
    /// Appends the byte ranges of the pieces of `p[start..<end]` to `pieces`.
    static func split(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, into pieces: inout [Range<Int>]) {
        var i = start
        while i < end {
            let pieceEnd = nextPieceEnd(p, i, end)
            pieces.append(i..<pieceEnd)
            i = pieceEnd
        }
    }

    @inline(__always)
    static func nextPieceEnd(_ p: UnsafeBufferPointer<UInt8>, _ i: Int, _ end: Int) -> Int {
        let b = p[i]
        // 's 't 're 've 'm 'll 'd (ASCII, case-sensitive)
        if b == 0x27 && i + 1 < end {
            let c = p[i + 1]
            if c == 0x73 || c == 0x74 || c == 0x6D || c == 0x64 { return i + 2 }  // s t m d
            if i + 2 < end {
                let d = p[i + 2]
                if (c == 0x72 && d == 0x65) || (c == 0x76 && d == 0x65) || (c == 0x6C && d == 0x6C) {
                    return i + 3  // re ve ll
                }
            }
        }
        let (v0, l0) = UTF8Walk.decode(p, i)
        var cls = UnicodeClasses.scalarClass(v0)
        var j = i + l0  // end of what is consumed so far
        if b == 0x20 && j < end {
            // " ?X+": a space joins the run of letters/numbers/other symbols that follows it.
            let (v1, l1) = UTF8Walk.decode(p, j)
            let next = UnicodeClasses.scalarClass(v1)
            if next != .whitespace {
                cls = next
                j += l1
            }
        }
        if cls != .whitespace {
            while j < end {
                let (v, l) = UTF8Walk.decode(p, j)
                if UnicodeClasses.scalarClass(v) != cls { break }
                j += l
            }
            return j
        }
        // Whitespace run: \s+(?!\S) leaves the last whitespace scalar for the next piece when a
        // non-space follows, unless the run is a single scalar (then \s+ takes it).
        var lastStart = i
        while j < end {
            let (v, l) = UTF8Walk.decode(p, j)
            if UnicodeClasses.scalarClass(v) != .whitespace { break }
            lastStart = j
            j += l
        }
        if j == end || lastStart == i { return j }
        return lastStart
    }
}
