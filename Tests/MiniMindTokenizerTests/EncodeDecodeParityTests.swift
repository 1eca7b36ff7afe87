// Ids and decoded text against HF `tokenizers` 0.23.3 (fixtures from Scripts/gen_tokenizer_fixtures.py).
import Foundation
import XCTest
import MiniMindTokenizer

final class EncodeDecodeParityTests: XCTestCase {
    /// Texts the fixture encoded: corpus.json plus the added-token flag cases of the trained files.
    private func texts(for expected: ExpectedEncodings) throws -> [String] {
        var texts = try TokenizerFixtures.corpus()
        if expected.encodings.count > texts.count {
            texts += flagCases
        }
        XCTAssertEqual(texts.count, expected.encodings.count, "corpus and fixture are out of sync")
        return texts
    }

    /// Must equal flag_cases() in the script.
    private let flagCases = [
        "a [MASK] b  [MASK]\t[MASK]", "x<r>  y<r>\n\nz", "<sw> a<sw> <sw>b <sw>, é<sw> <sw>",
        "say hello world twice: hello world!", "hello worldly", "<|image_pad|><think>x</think>",
        "[MASK]<r> <sw> [MASK] ", "  [MASK]<r>   <sw>   ",
    ]

    private func check(_ tokenizer: Tokenizer, _ fixture: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let expected = try ExpectedEncodings(fixture)
        let texts = try texts(for: expected)
        XCTAssertEqual(tokenizer.vocabSize, expected.vocabSize, "vocab size", file: file, line: line)
        var failures = 0
        for (k, text) in texts.enumerated() where failures < 10 {
            let ids = tokenizer.encode(text)
            if ids != expected.encodings[k] {
                failures += 1
                XCTFail("\(fixture) #\(k) \(text.debugDescription)\n got      \(ids)\n expected \(expected.encodings[k])",
                        file: file, line: line)
            }
            XCTAssertBytesEqual(tokenizer.decode(expected.encodings[k], skipSpecialTokens: false), expected.decoded[k],
                                "\(fixture) decode #\(k)", file: file, line: line)
            XCTAssertBytesEqual(tokenizer.decode(expected.encodings[k], skipSpecialTokens: true),
                                expected.decodedSkipSpecial[k], "\(fixture) decode(skip) #\(k)", file: file, line: line)
        }
        for s in expected.slices {
            let ids = Array(expected.encodings[s.index][s.start..<s.end])
            XCTAssertBytesEqual(tokenizer.decode(ids), s.text, "\(fixture) slice \(s)", file: file, line: line)
        }
    }

    func testHFTrainedTokenizer() throws {
        let tok = try Tokenizer(contentsOf: TokenizerFixtures.url("hf_trained"))
        try check(tok, "expected_hf_trained.json")
        XCTAssertEqual(tok.preTokenizer, ByteLevelOptions(addPrefixSpace: false, useRegex: true))
    }

    func testHFTrainedWithPrefixSpace() throws {
        let tok = try Tokenizer(contentsOf: TokenizerFixtures.url("hf_trained_prefix_space/tokenizer.json"))
        XCTAssertTrue(tok.preTokenizer.addPrefixSpace)
        try check(tok, "expected_hf_trained_prefix_space.json")
    }

    func testHFTrainedWithoutRegex() throws {
        let tok = try Tokenizer(contentsOf: TokenizerFixtures.url("hf_trained_no_regex"))
        XCTAssertFalse(tok.preTokenizer.useRegex)
        try check(tok, "expected_hf_trained_no_regex.json")
    }

    func testMiniMind2Tokenizer() throws {
        let tok = try Tokenizer(contentsOf: try TokenizerFixtures.assetFolder("minimind2-v"))
        try check(tok, "expected_minimind2-v.json")
        let expected = try ExpectedEncodings("expected_minimind2-v.json")
        XCTAssertEqual(tok.bosTokenID, expected.bosID)
        XCTAssertEqual(tok.eosTokenID, expected.eosID)
        XCTAssertEqual(tok.padTokenID, expected.padID)
        XCTAssertEqual(tok.encode(String(repeating: "@", count: 196)), Array(repeating: 34, count: 196))
    }

    func testMiniMind3Tokenizer() throws {
        let tok = try Tokenizer(contentsOf: try TokenizerFixtures.assetFolder("minimind-3v"))
        try check(tok, "expected_minimind-3v.json")
        let expected = try ExpectedEncodings("expected_minimind-3v.json")
        XCTAssertEqual(tok.bosTokenID, expected.bosID)
        XCTAssertEqual(tok.eosTokenID, expected.eosID)
        XCTAssertEqual(tok.padTokenID, expected.padID)
        XCTAssertEqual(tok.tokenToId("<|image_pad|>"), 12)
        XCTAssertEqual(tok.idToToken(26), "</think>")
        XCTAssertFalse(tok.isSpecial(25))
        XCTAssertTrue(tok.isSpecial(12))
    }
}
