// README.md → Swift source: each ```swift block becomes the body of one `async throws` function,
// listed in `readmeSnippets` in README order; its `import` lines go to the top of the file. Line
// directives point compiler errors at README.md itself. Used by the ReadmeSnippetsPlugin build tool.
import Foundation

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("ReadmeSnippetsTool: \(message)\n".utf8))
    exit(1)
}

let arguments = CommandLine.arguments
guard arguments.count == 3 else { fail("usage: ReadmeSnippetsTool README.md OUTPUT.swift") }
let readmePath = arguments[1]
guard let readme = try? String(contentsOfFile: readmePath, encoding: .utf8) else { fail("cannot read \(readmePath)") }

struct Snippet { var firstLine: Int; var lines: [String] }
var snippets: [Snippet] = []
var imports: Set<String> = ["import Foundation", "import MiniMindV"]
var open: Snippet?
for (index, line) in readme.components(separatedBy: "\n").enumerated() {
    let trimmed = line.trimmingCharacters(in: .whitespaces)
    if var snippet = open {
        if trimmed == "```" {
            snippets.append(snippet)
            open = nil
        } else if trimmed.hasPrefix("import ") {
            imports.insert(trimmed)
            snippet.lines.append("")
            open = snippet
        } else {
            snippet.lines.append(line)
            open = snippet
        }
    } else if trimmed == "```swift" {
        open = Snippet(firstLine: index + 2, lines: [])
    }
}
if let open { fail("\(readmePath):\(open.firstLine - 1): a ```swift block is not closed") }
guard !snippets.isEmpty else { fail("\(readmePath) has no ```swift block") }

var source = "// Generated from README.md by ReadmeSnippetsTool at build time; edit README.md instead.\n"
source += imports.sorted().joined(separator: "\n") + "\n\n"
source += "let readmeSnippets: [(line: Int, run: () async throws -> Void)] = [\n"
source += snippets.map { "    (\($0.firstLine), readmeSnippet\($0.firstLine))," }.joined(separator: "\n") + "\n]\n"
for snippet in snippets {
    source += "\n@Sendable func readmeSnippet\(snippet.firstLine)() async throws {\n"
    // Blank lines (where imports were lifted) keep the line numbers of the directive right.
    source += "#sourceLocation(file: \"\(readmePath)\", line: \(snippet.firstLine))\n"
    source += snippet.lines.joined(separator: "\n") + "\n#sourceLocation()\n}\n"
}
do {
    try source.write(toFile: arguments[2], atomically: true, encoding: .utf8)
} catch {
    fail("cannot write \(arguments[2]): \(error)")
}
