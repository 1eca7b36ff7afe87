// Text primitives the metrics share, defined on Unicode code points the way the Python reference
// packages see text (a Swift `String` compares by canonical equivalence, Python by code points, so
// tokens here are code-point arrays).
import Foundation

/// One token as code points (hashable, compared code point by code point as Python does).
public typealias EvalToken = [Unicode.Scalar]

public enum EvalText {
    /// Python's `str.isspace()`: the Unicode White_Space characters plus U+001C…U+001F (which
    /// Python counts as separators). `str.split()` and `str.strip()` split and strip on these.
    public static func isSpace(_ c: Unicode.Scalar) -> Bool {
        (0x1C...0x1F).contains(c.value) || c.properties.isWhitespace
    }

    public static func scalars(_ s: String) -> [Unicode.Scalar] { Array(s.unicodeScalars) }

    public static func string(_ scalars: [Unicode.Scalar]) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }

    /// Python's `str.split()` (no argument): runs of whitespace separate, no empty tokens.
    public static func split(_ s: [Unicode.Scalar]) -> [EvalToken] {
        var out: [EvalToken] = [], current: EvalToken = []
        for c in s {
            if isSpace(c) {
                if !current.isEmpty { out.append(current); current = [] }
            } else {
                current.append(c)
            }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    /// Python's `str.strip()` / `str.rstrip()`.
    public static func strip(_ s: [Unicode.Scalar], leading: Bool = true) -> [Unicode.Scalar] {
        var lo = s.startIndex, hi = s.endIndex
        while hi > lo && isSpace(s[hi - 1]) { hi -= 1 }
        if leading { while lo < hi && isSpace(s[lo]) { lo += 1 } }
        return Array(s[lo..<hi])
    }

    /// Lower case, code point by code point, with the full Unicode mapping ('İ' → "i̇"). Python's
    /// `str.lower()` differs only for Greek capital sigma at the end of a word (final 'ς').
    public static func lower(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        for c in s {
            if c.isASCII {
                out.append((65...90).contains(c.value) ? Unicode.Scalar(c.value + 32)! : c)
            } else {
                out.append(contentsOf: c.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return out
    }

    /// Python's `str.replace(old, new)`: every non-overlapping occurrence, left to right.
    public static func replace(_ s: [Unicode.Scalar], _ old: String, _ new: String) -> [Unicode.Scalar] {
        let o = scalars(old), n = scalars(new)
        guard !o.isEmpty, s.count >= o.count else { return s }
        var out: [Unicode.Scalar] = [], i = 0
        out.reserveCapacity(s.count)
        while i < s.count {
            if i + o.count <= s.count && s[i] == o[0] && s[i..<(i + o.count)].elementsEqual(o) {
                out += n
                i += o.count
            } else {
                out.append(s[i])
                i += 1
            }
        }
        return out
    }

    /// Whether `needle` occurs in `s` (code points).
    public static func contains(_ s: [Unicode.Scalar], _ needle: [Unicode.Scalar]) -> Bool {
        guard !needle.isEmpty else { return true }
        guard s.count >= needle.count else { return false }
        for i in 0...(s.count - needle.count) where s[i] == needle[0] && s[i..<(i + needle.count)].elementsEqual(needle) {
            return true
        }
        return false
    }

    /// Python's `\d` in a `str` pattern: a decimal digit of any script (category Nd).
    public static func isDecimalDigit(_ c: Unicode.Scalar) -> Bool { c.properties.generalCategory == .decimalNumber }

    /// All n-grams of orders 1...maxOrder with their counts.
    public static func ngramCounts(_ tokens: [EvalToken], maxOrder: Int) -> [[EvalToken]: Int] {
        var counts: [[EvalToken]: Int] = [:]
        guard maxOrder >= 1 else { return counts }
        for n in 1...maxOrder where tokens.count >= n {
            for i in 0...(tokens.count - n) { counts[Array(tokens[i..<(i + n)]), default: 0] += 1 }
        }
        return counts
    }
}
