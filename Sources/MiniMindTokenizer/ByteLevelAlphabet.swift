// GPT-2's reversible byte <-> unicode map: printable Latin-1 bytes map to themselves, the other
// 68 bytes to U+0100... in byte order, so every byte string becomes a printable token string.

public enum ByteLevelAlphabet {
    /// byteToScalar[b] is the unicode scalar that stands for byte b in token strings.
    public static let byteToScalar: [Unicode.Scalar] = {
        var printable = [Bool](repeating: false, count: 256)
        for b in 0x21...0x7E { printable[b] = true }
        for b in 0xA1...0xAC { printable[b] = true }
        for b in 0xAE...0xFF { printable[b] = true }
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            if printable[b] {
                table[b] = Unicode.Scalar(UInt8(b))
            } else {
                table[b] = Unicode.Scalar(next) ?? " "  // 256...323 are all valid scalars
                next += 1
            }
        }
        return table
    }()

    /// Inverse map; only the 256 scalars above are present.
    public static let scalarToByte: [UInt32: UInt8] = {
        var map = [UInt32: UInt8](minimumCapacity: 256)
        for (b, s) in byteToScalar.enumerated() { map[s.value] = UInt8(b) }
        return map
    }()

    /// The token string that stands for `bytes` (what the BPE model and vocab see).
    public static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(byteToScalar[Int(b)]) }
        return String(s)
    }

    /// HF's ByteLevel decoder for one token: every scalar maps back to its byte; if any scalar is
    /// outside the alphabet the token's own UTF-8 bytes are used unchanged.
    public static func decode(_ token: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(token.unicodeScalars.count)
        for s in token.unicodeScalars {
            guard let b = scalarToByte[s.value] else { return Array(token.utf8) }
            out.append(b)
        }
        return out
    }
}
