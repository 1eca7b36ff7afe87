// Character classes the GPT-2 split regex and HF's added-token flags use, from Unicode scalar
// properties (Oniguruma/Rust-regex semantics: \s = White_Space, \p{L}, \p{N}, \w).

enum ScalarClass: UInt8 {
    case other = 0, letter = 1, number = 2, whitespace = 3
}

enum UnicodeClasses {
    /// ASCII classes, precomputed for the hot loop.
    static let ascii: [ScalarClass] = (0..<128).map { classify(UInt32($0)) }

    @inline(__always)
    static func scalarClass(_ value: UInt32) -> ScalarClass {
        value < 128 ? ascii[Int(value)] : classify(value)
    }

    static func classify(_ value: UInt32) -> ScalarClass {
        guard let scalar = Unicode.Scalar(value) else { return .other }
        let p = scalar.properties
        if p.isWhitespace { return .whitespace }
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return .number
        default:
            return .other
        }
    }

    /// Rust regex `\w`: Alphabetic, marks, decimal numbers, connector punctuation, Join_Control.
    static func isWordScalar(_ value: UInt32) -> Bool {
        guard let scalar = Unicode.Scalar(value) else { return false }
        let p = scalar.properties
        if p.isAlphabetic || p.isJoinControl { return true }
        switch p.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation:
            return true
        default:
            return false
        }
    }

    static func isWhitespaceScalar(_ value: UInt32) -> Bool {
        Unicode.Scalar(value)?.properties.isWhitespace ?? false
    }
}

/// Minimal UTF-8 walking over bytes known to be valid (they come from a Swift String).
enum UTF8Walk {
    /// Scalar starting at `i` and its length in bytes.
    @inline(__always)
    static func decode(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> (value: UInt32, length: Int) {
        let b0 = UInt32(p[i])
        if b0 < 0x80 { return (b0, 1) }
        if b0 < 0xE0 { return (((b0 & 0x1F) << 6) | (UInt32(p[i + 1]) & 0x3F), 2) }
        if b0 < 0xF0 {
            return (((b0 & 0x0F) << 12) | ((UInt32(p[i + 1]) & 0x3F) << 6) | (UInt32(p[i + 2]) & 0x3F), 3)
        }
        return (((b0 & 0x07) << 18) | ((UInt32(p[i + 1]) & 0x3F) << 12)
                | ((UInt32(p[i + 2]) & 0x3F) << 6) | (UInt32(p[i + 3]) & 0x3F), 4)
    }

    /// Start of the scalar that ends right before `end`.
    @inline(__always)
    static func previousStart(_ p: UnsafeBufferPointer<UInt8>, before end: Int) -> Int {
        var j = end - 1
        while j > 0 && (p[j] & 0xC0) == 0x80 { j -= 1 }
        return j
    }
}
