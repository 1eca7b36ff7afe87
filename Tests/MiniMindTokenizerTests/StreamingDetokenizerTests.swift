// Streaming detokenization: pieces never hold a broken character and concatenate to decode(all).
import Foundation
import XCTest
import MiniMindTokenizer

final class StreamingDetokenizerTests: XCTestCase {
    private func stream(_ tok: Tokenizer, _ ids: [Int], skipSpecial: Bool) -> (pieces: [String], heldBack: Bool) {
        let s = StreamingDetokenizer(tokenizer: tok, skipSpecialTokens: skipSpecial)
        var pieces: [String] = []
        var heldBack = false
        for id in ids {
            pieces.append(s.push(id))
            if s.pendingByteCount > 0 { heldBack = true }
        }
        pieces.append(s.finish())
        return (pieces, heldBack)
    }

    private func check(_ tok: Tokenizer, name: String) throws {
        var sawSplitCharacter = false
        for text in try TokenizerFixtures.corpus() {
            let ids = tok.encode(text)
            for skip in [false, true] {
                let (pieces, heldBack) = stream(tok, ids, skipSpecial: skip)
                sawSplitCharacter = sawSplitCharacter || heldBack
                XCTAssertBytesEqual(pieces.joined(), tok.decode(ids, skipSpecialTokens: skip), "\(name) \(text.debugDescription)")
                if !text.unicodeScalars.contains("\u{FFFD}") {
                    for p in pieces { XCTAssertFalse(p.unicodeScalars.contains("\u{FFFD}"), "\(name): broken piece for \(text.debugDescription)") }
                }
            }
            // Starting or ending mid-character: the pieces still add up to HF-style decode.
            if ids.count > 3 {
                let slice = Array(ids[1..<(ids.count - 1)])
                XCTAssertBytesEqual(stream(tok, slice, skipSpecial: false).pieces.joined(), tok.decode(slice))
            }
        }
        XCTAssertTrue(sawSplitCharacter, "\(name): the corpus should split some characters across tokens")
    }

    func testTrainedTokenizerSplitsCharacters() throws {
        try check(try Tokenizer(contentsOf: TokenizerFixtures.url("hf_trained")), name: "hf_trained")
    }

    func testRealTokenizers() throws {
        try check(try Tokenizer(contentsOf: try TokenizerFixtures.assetFolder("minimind2-v")), name: "minimind2-v")
        try check(try Tokenizer(contentsOf: try TokenizerFixtures.assetFolder("minimind-3v")), name: "minimind-3v")
    }

    func testEveryByteTokenOfAnEmojiIsHeldUntilComplete() throws {
        let tok = try Tokenizer(contentsOf: TokenizerFixtures.url("hf_trained"))
        // One id per byte of "👨‍👩‍👧" (the byte symbols are always in the vocabulary).
        let bytes = Array("👨‍👩‍👧".utf8)
        let ids = try bytes.map { b in try XCTUnwrap(tok.tokenToId(ByteLevelAlphabet.encode([b]))) }
        let s = StreamingDetokenizer(tokenizer: tok)
        var out: [String] = []
        for id in ids { let p = s.push(id); if !p.isEmpty { out.append(p) } }
        XCTAssertEqual(s.finish(), "")
        XCTAssertEqual(out.map { Array($0.unicodeScalars) }, "👨‍👩‍👧".unicodeScalars.map { [$0] })
    }
}
