// Broken tokenizer files and odd inputs give typed errors (or HF-style tolerant results), never crashes.
import Foundation
import XCTest
import MiniMindTokenizer

final class TokenizerHostileInputTests: XCTestCase {
    private func load(_ json: String) throws -> Tokenizer {
        try Tokenizer(tokenizerJSON: Data(json.utf8), path: "test.json")
    }

    private let minimal = """
    {"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]},
     "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false}, "decoder": {"type": "ByteLevel"}}
    """

    func testMinimalFileWithStringMerges() throws {
        let tok = try load(minimal)
        XCTAssertEqual(tok.encode("ab"), [2])
        XCTAssertEqual(tok.encode("abc ab"), [2, 2])  // bytes missing from the vocab vanish, as in HF (no unk)
        XCTAssertEqual(tok.decode([2, 0, 99, -1]), "aba")  // unknown ids are skipped, as in HF
    }

    func testTypedErrors() throws {
        func expect(_ json: String, _ fragment: String, line: UInt = #line) {
            XCTAssertThrowsError(try load(json), line: line) { error in
                XCTAssertTrue(error is TokenizerError, "\(error)", line: line)
                XCTAssertTrue("\(error)".contains(fragment), "\(error) should mention \(fragment)", line: line)
            }
        }
        expect("not json", "not a valid tokenizer JSON")
        expect("[1, 2]", "top level")
        expect("{}", "model")
        expect(minimal.replacingOccurrences(of: "\"a b\"", with: "\"a c\""), "merge #0")
        expect(minimal.replacingOccurrences(of: "\"a b\"", with: "\"a b c\""), "model.merges[0]")
        expect(minimal.replacingOccurrences(of: "\"type\": \"BPE\"", with: "\"type\": \"WordPiece\""), "WordPiece")
        expect(minimal.replacingOccurrences(of: "\"b\": 1", with: "\"b\": \"x\""), "model.vocab[b]")
        expect(minimal.replacingOccurrences(of: "{\"type\": \"ByteLevel\", \"add_prefix_space\": false}",
                                            with: "{\"type\": \"Whitespace\"}"), "pre_tokenizer.type")
        expect(minimal.replacingOccurrences(of: "\"model\"", with: "\"normalizer\": {\"type\": \"NFC\"}, \"model\""), "normalizer")
        expect(minimal.replacingOccurrences(of: "\"merges\"", with: "\"byte_fallback\": true, \"merges\""), "byte_fallback")
        XCTAssertThrowsError(try Tokenizer(path: "/nonexistent/tokenizer.json")) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent"), "\(error)")
        }
        XCTAssertThrowsError(try Tokenizer(tokenizerJSON: Data(minimal.utf8), configJSON: Data("{\"bos_token\": \"<s>\"}".utf8))) {
            XCTAssertTrue("\($0)".contains("bos_token"), "\($0)")
        }
    }

    /// Hundreds of truncated and byte-flipped copies of a real tokenizer.json: each loads or throws.
    func testMutatedFilesNeverCrash() throws {
        let original = try Data(contentsOf: TokenizerFixtures.url("hf_trained/tokenizer.json"))
        var rng = SystemRandomNumberGenerator()
        var loaded = 0, rejected = 0
        for k in 0..<300 {
            var bytes = [UInt8](original)
            if k % 3 == 0 {
                bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &rng)))
            } else {
                for _ in 0..<Int.random(in: 1...8, using: &rng) {
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
            }
            do {
                let tok = try Tokenizer(tokenizerJSON: Data(bytes), path: "mutated.json")
                _ = tok.decode(tok.encode("Hello 你好 <|im_start|> 😀"))
                loaded += 1
            } catch is TokenizerError {
                rejected += 1
            }
        }
        XCTAssertEqual(loaded + rejected, 300)
        XCTAssertGreaterThan(rejected, 50)
    }

    func testOddTextAndIds() throws {
        let tok = try Tokenizer(contentsOf: TokenizerFixtures.url("hf_trained"))
        XCTAssertEqual(tok.encode(""), [])
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            var scalars = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0..<40, using: &rng) {
                if let s = Unicode.Scalar(UInt32.random(in: 0...0x10FFFF, using: &rng)) { scalars.append(s) }
            }
            let text = String(scalars)
            XCTAssertBytesEqual(tok.decode(tok.encode(text)), text)
            let ids = (0..<20).map { _ in Int.random(in: -5...600, using: &rng) }
            _ = tok.decode(ids, skipSpecialTokens: Bool.random(using: &rng))
        }
    }
}
