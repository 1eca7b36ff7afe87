// Text from files (tensor names, keys) printed to a terminal: control characters could move the
// cursor, recolour or rewrite the screen, so they are shown escaped instead.
import Foundation

public enum TerminalText {
    /// `text` with C0/C1 control characters and DEL written as `\n`, `\t`, `\r`, `\u{1B}`, …
    /// and a backslash as `\\`, so an escaped name can't be mistaken for a real one.
    public static func escaped(_ text: String) -> String {
        var out = ""
        out.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case _ where scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value):
                out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
