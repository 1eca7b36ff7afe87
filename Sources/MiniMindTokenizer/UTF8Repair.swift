// Bytes -> String the way Rust's String::from_utf8_lossy (and so HF's ByteLevel decoder) does it:
// each maximal ill-formed subpart becomes one U+FFFD (Unicode's recommended practice).

enum UTF8Repair {
    /// Number of bytes of a well-formed sequence starting with `lead`, and the allowed range of the
    /// second byte (Unicode Table 3-7); nil for bytes that never start a sequence.
    @inline(__always)
    static func sequenceShape(_ lead: UInt8) -> (length: Int, low: UInt8, high: UInt8)? {
        switch lead {
        case 0x00...0x7F: return (1, 0, 0)
        case 0xC2...0xDF: return (2, 0x80, 0xBF)
        case 0xE0: return (3, 0xA0, 0xBF)
        case 0xE1...0xEC, 0xEE...0xEF: return (3, 0x80, 0xBF)
        case 0xED: return (3, 0x80, 0x9F)
        case 0xF0: return (4, 0x90, 0xBF)
        case 0xF1...0xF3: return (4, 0x80, 0xBF)
        case 0xF4: return (4, 0x80, 0x8F)
        default: return nil
        }
    }

    /// Length of the well-formed prefix of the sequence starting at `i` (equal to the shape's
    /// length when the sequence is complete and valid).
    @inline(__always)
    static func validPrefixLength(_ bytes: UnsafeBufferPointer<UInt8>, _ i: Int) -> (valid: Int, needed: Int) {
        guard let shape = sequenceShape(bytes[i]) else { return (0, 1) }
        if shape.length == 1 { return (1, 1) }
        var k = 1
        while k < shape.length && i + k < bytes.count {
            let b = bytes[i + k]
            let ok = k == 1 ? (b >= shape.low && b <= shape.high) : (b >= 0x80 && b <= 0xBF)
            if !ok { break }
            k += 1
        }
        return (k, shape.length)
    }

    static func string(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBufferPointer { string($0) }
    }

    static func string(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            if b < 0x80 { out.append(b); i += 1; continue }
            let (valid, needed) = validPrefixLength(bytes, i)
            if valid == needed {
                out.append(contentsOf: bytes[i..<(i + needed)])
                i += needed
            } else {
                out.append(contentsOf: [0xEF, 0xBF, 0xBD])
                i += max(valid, 1)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Where an incomplete (but so far well-formed) trailing sequence starts, or `bytes.count`
    /// when the buffer ends on a character boundary or on ill-formed bytes.
    static func incompleteTailStart(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        let n = bytes.count
        var j = n - 1
        while j >= 0 && j >= n - 3 {
            let b = bytes[j]
            if b & 0xC0 != 0x80 {  // a lead byte or ASCII: the only candidate start
                if b < 0x80 { return n }
                let (valid, needed) = validPrefixLength(bytes, j)
                return (valid == n - j && valid < needed) ? j : n
            }
            j -= 1
        }
        return n
    }
}
