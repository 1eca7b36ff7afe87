// sacrebleu's default `13a` tokeniser (mteval-v13a.pl's), step for step on code points.
import Foundation

public enum BLEUTokenizer13a {
    /// Tokens of one segment as sacrebleu's BLEU sees them (`tokenizer(line.rstrip()).split()`).
    public static func tokens(_ line: String) -> [EvalToken] {
        var s = EvalText.strip(EvalText.scalars(line), leading: false)
        s = EvalText.replace(s, "<skipped>", "")
        s = EvalText.replace(s, "-\n", "")
        s = EvalText.replace(s, "\n", " ")
        if s.contains("&") {
            for (entity, char) in [("&quot;", "\""), ("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">")] {
                s = EvalText.replace(s, entity, char)
            }
        }
        s = [" "] + s + [" "]
        // 1. `([\{-\~\[-\` -\&\(-\+\:-\@\/])` → ' \1 ': ASCII symbols other than ' , - . get spaces around them.
        var spaced: [Unicode.Scalar] = []
        spaced.reserveCapacity(s.count * 2)
        for c in s {
            if isSeparatedSymbol(c) { spaced += [" ", c, " "] } else { spaced.append(c) }
        }
        // 2.–4.: the three pair rules, each a left-to-right scan of non-overlapping matches (re.sub).
        s = pairs(spaced) { a, b in !isASCIIDigit(a) && (b == "." || b == ",") } replace: { a, b in [a, " ", b, " "] }
        s = pairs(s) { a, b in (a == "." || a == ",") && !isASCIIDigit(b) } replace: { a, b in [" ", a, " ", b] }
        s = pairs(s) { a, b in isASCIIDigit(a) && b == "-" } replace: { a, b in [a, " ", b, " "] }
        return EvalText.split(s)
    }

    /// The 13a text of a segment (tokens joined by single spaces), as sacrebleu's tokenizer returns it.
    public static func tokenize(_ line: String) -> String {
        tokens(line).map(EvalText.string).joined(separator: " ")
    }

    static func isASCIIDigit(_ c: Unicode.Scalar) -> Bool { (48...57).contains(c.value) }

    static func isSeparatedSymbol(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x7B...0x7E, 0x5B...0x60, 0x20...0x26, 0x28...0x2B, 0x3A...0x40, 0x2F: return true
        default: return false
        }
    }

    /// `re.sub` of a two-character pattern: scan left to right; a match consumes both characters.
    static func pairs(_ s: [Unicode.Scalar], _ match: (Unicode.Scalar, Unicode.Scalar) -> Bool,
                      replace: (Unicode.Scalar, Unicode.Scalar) -> [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = [], i = 0
        out.reserveCapacity(s.count + s.count / 4)
        while i < s.count {
            if i + 1 < s.count && match(s[i], s[i + 1]) {
                out += replace(s[i], s[i + 1])
                i += 2
            } else {
                out.append(s[i])
                i += 1
            }
        }
        return out
    }
}
