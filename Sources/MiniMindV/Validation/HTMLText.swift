// Text from data (questions, answers, file names, stage names) written into the HTML and SVG
// reports: markup characters are escaped so that a row cannot inject tags or break an attribute.
import Foundation

enum HTMLText {
    /// `text` with &, <, > and " as entities (safe in element content and double-quoted attributes).
    static func escaped(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}
