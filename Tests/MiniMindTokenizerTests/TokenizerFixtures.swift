// Locating the committed fixtures (Tests/Fixtures/tokenizer) and the committed upstream tokenizer
// files (Tests/Fixtures/upstream, see its NOTICE.md).
import Foundation
import XCTest
import MiniMindTokenizer

enum TokenizerFixtures {
    static let repoRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Tests/Fixtures").path) { return url }
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }()

    static let folder = repoRoot.appendingPathComponent("Tests/Fixtures/tokenizer")
    static let assets = repoRoot.appendingPathComponent("Tests/Fixtures/upstream")

    static func url(_ name: String) -> URL { folder.appendingPathComponent(name) }

    static func json(_ name: String) throws -> Any {
        let data = try Data(contentsOf: url(name))
        return try JSONSerialization.jsonObject(with: data, options: [])
    }

    static func corpus() throws -> [String] {
        guard let list = try json("corpus.json") as? [String] else { throw FixtureError.bad("corpus.json") }
        return list
    }

    /// The real (upstream) tokenizer folder; a missing file is a failure, not a skip.
    static func assetFolder(_ name: String) throws -> URL {
        let url = assets.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: url.appendingPathComponent("tokenizer.json").path) else {
            throw FixtureError.bad("\(url.path)/tokenizer.json is missing from the committed fixtures")
        }
        return url
    }
}

enum FixtureError: Error { case bad(String) }

/// expected_<name>.json written by Scripts/gen_tokenizer_fixtures.py.
struct ExpectedEncodings {
    var encodings: [[Int]]
    var decoded: [String]
    var decodedSkipSpecial: [String]
    var slices: [(index: Int, start: Int, end: Int, text: String)]
    var vocabSize: Int
    var flagCasesStart: Int?
    var bosID: Int?, eosID: Int?, padID: Int?

    init(_ name: String) throws {
        guard let o = try TokenizerFixtures.json(name) as? [String: Any],
              let enc = o["encodings"] as? [[Int]], let dec = o["decoded"] as? [String],
              let decSkip = o["decodedSkipSpecial"] as? [String], let sl = o["slices"] as? [[String: Any]],
              let vs = o["vocabSize"] as? Int else { throw FixtureError.bad(name) }
        encodings = enc
        decoded = dec
        decodedSkipSpecial = decSkip
        slices = try sl.map {
            guard let i = $0["index"] as? Int, let a = $0["start"] as? Int, let b = $0["end"] as? Int,
                  let t = $0["text"] as? String else { throw FixtureError.bad(name) }
            return (i, a, b, t)
        }
        vocabSize = vs
        flagCasesStart = o["flagCasesStart"] as? Int
        bosID = o["bosId"] as? Int
        eosID = o["eosId"] as? Int
        padID = o["padId"] as? Int
    }
}

/// Byte-exact string equality (Swift's == treats canonically equivalent strings as equal).
func XCTAssertBytesEqual(_ a: String, _ b: String, _ message: @autoclosure () -> String = "",
                         file: StaticString = #filePath, line: UInt = #line) {
    if Array(a.utf8) != Array(b.utf8) {
        XCTFail("\(message())\n got:      \(a.debugDescription)\n expected: \(b.debugDescription)", file: file, line: line)
    }
}
