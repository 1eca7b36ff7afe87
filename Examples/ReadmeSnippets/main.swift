// The Swift snippets of README.md, compiled by every build (ReadmeSnippetsPlugin generates
// `readmeSnippets` from the README) and run here in README order. They use the files `make demo`
// writes, so after it, from the repository folder:
//   swift run -c release ReadmeSnippets
import Foundation

for snippet in readmeSnippets {
    print("--- README.md line \(snippet.line)")
    try await snippet.run()
}
