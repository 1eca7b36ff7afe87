// Token ids index tables of max id + 1 entries: a huge id in tokenizer.json is refused, naming the
// key, the id and the allowed range, before anything is allocated for it.
import Foundation
import XCTest
import MiniMindTokenizer

final class TokenizerIDRangeTests: XCTestCase {
    let base = """
    {"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": ID}, "merges": ["a b"]},
     "added_tokens": [{"id": ADDED, "content": "<s>", "special": true}],
     "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false}, "decoder": {"type": "ByteLevel"}}
    """

    func load(id: String, added: String = "3") throws -> Tokenizer {
        let json = base.replacingOccurrences(of: "ID", with: id).replacingOccurrences(of: "ADDED", with: added)
        return try Tokenizer(tokenizerJSON: Data(json.utf8), path: "t.json")
    }

    func testHugeIDsAreRefused() throws {
        for id in ["2147483648", "1099511627776", "4611686018427387904", "9223372036854775807", "4194304"] {
            XCTAssertThrowsError(try load(id: id), id) { error in
                XCTAssertEqual(error as? TokenizerError,
                               .valueOutOfRange(path: "t.json", key: "model.vocab[ab]", value: id, allowed: "0...4194303"))
            }
            XCTAssertThrowsError(try load(id: "2", added: id), id) { error in
                XCTAssertEqual(error as? TokenizerError,
                               .valueOutOfRange(path: "t.json", key: "added_tokens[0].id", value: id, allowed: "0...4194303"))
            }
        }
    }

    func testTheLargestAllowedIDLoads() throws {
        let tok = try load(id: "4194303")
        XCTAssertEqual(tok.encode("ab"), [4194303])
    }
}
