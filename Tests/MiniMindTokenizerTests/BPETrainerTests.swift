// The Swift BPE trainer: deterministic output (byte-equal to the committed file) that HF
// `tokenizers` 0.23.3 loads and encodes exactly like our encoder (ids in expected_swift_trained.json,
// written by `Scripts/gen_tokenizer_fixtures.py --check-swift-trained` from the committed file).
import Foundation
import XCTest
import MiniMindTokenizer

final class BPETrainerTests: XCTestCase {
    static let specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

    private func trainingLines() throws -> [String] {
        let text = try String(contentsOf: TokenizerFixtures.url("train_corpus.txt"), encoding: .utf8)
        return text.components(separatedBy: "\n")
    }

    private func train() throws -> BPETrainingResult {
        try BPETrainer(vocabSize: 600, specialTokens: Self.specials, minFrequency: 2).train(try trainingLines())
    }

    func testTrainedFileIsDeterministicAndMatchesCommittedFile() throws {
        let first = try train().tokenizerJSON()
        let second = try train().tokenizerJSON()
        XCTAssertEqual(first, second, "training twice must give the same file")
        let committed = TokenizerFixtures.url("swift_trained/tokenizer.json")
        if ProcessInfo.processInfo.environment["MINIMIND_WRITE_FIXTURES"] == "1" {
            // Refreshing the fixture is not a check: write it and fail, so this mode never passes.
            try FileManager.default.createDirectory(at: committed.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(first.utf8).write(to: committed)
            return XCTFail("wrote \(committed.path); now run Scripts/gen_tokenizer_fixtures.py --check-swift-trained on it "
                           + "and rerun the tests without MINIMIND_WRITE_FIXTURES")
        }
        let expected = try Data(contentsOf: committed)
        XCTAssertEqual(Array(first.utf8), Array(expected), "retrained tokenizer.json differs from the committed one")
    }

    func testHFEncodesSwiftTrainedFileLikeWeDo() throws {
        let result = try train()
        let tok = try result.makeTokenizer()
        let expected = try ExpectedEncodings("expected_swift_trained.json")
        let texts = try TokenizerFixtures.corpus() + Array(try trainingLines().prefix(300))
        XCTAssertEqual(texts.count, expected.encodings.count)
        XCTAssertEqual(tok.vocabSize, expected.vocabSize)
        XCTAssertEqual(result.tokens.count, 600)
        for (k, text) in texts.enumerated() {
            XCTAssertEqual(tok.encode(text), expected.encodings[k], "#\(k) \(text.debugDescription)")
            XCTAssertBytesEqual(tok.decode(expected.encodings[k]), expected.decoded[k], "decode #\(k)")
            XCTAssertBytesEqual(tok.decode(expected.encodings[k], skipSpecialTokens: true), expected.decodedSkipSpecial[k])
        }
    }

    func testWrittenFileLoadsBack() throws {
        let result = try train()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bpe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = try result.write(to: dir)
        let loaded = try Tokenizer(contentsOf: file)
        let direct = try result.makeTokenizer()
        for text in try TokenizerFixtures.corpus() {
            XCTAssertEqual(loaded.encode(text), direct.encode(text))
            XCTAssertBytesEqual(loaded.decode(loaded.encode(text)), text)
        }
        XCTAssertEqual(loaded.tokenToId("<|im_end|>"), 2)
        XCTAssertTrue(loaded.isSpecial(1))
    }

    func testMinFrequencyStopsEarly() throws {
        let result = try BPETrainer(vocabSize: 10_000, specialTokens: [], minFrequency: 3).train(["abab abab", "xyz"])
        // "ab" occurs 4 times (twice per word, word seen once... counted per word occurrence)
        XCTAssertLessThan(result.tokens.count, 10_000)
        XCTAssertEqual(result.merges.first?.0, "a")
        XCTAssertEqual(result.merges.first?.1, "b")
    }

    func testRejectsImpossibleSettings() {
        XCTAssertThrowsError(try BPETrainer(vocabSize: 100, specialTokens: []).train(["x"])) { error in
            XCTAssertTrue("\(error)".contains("256"), "\(error)")
        }
        XCTAssertThrowsError(try BPETrainer(vocabSize: 300, specialTokens: ["a", "a"]).train(["x"]))
        XCTAssertThrowsError(try BPETrainer(vocabSize: 300, specialTokens: ["!"]).train(["x"]))
        XCTAssertThrowsError(try BPETrainer(vocabSize: 300, minFrequency: 0).train(["x"]))
    }

    /// A few MB of text must train in seconds (incremental pair counts). Prints the rate.
    func testTrainingSpeedOnSeveralMegabytes() throws {
        let lines = try trainingLines()
        var texts: [String] = []
        var bytes = 0
        var k = 0
        while bytes < 3_000_000 {  // vary the lines so the words are not all cache hits
            let line = lines[k % lines.count] + " \(k % 997)"
            texts.append(line)
            bytes += line.utf8.count
            k += 1
        }
        let start = Date()
        let result = try BPETrainer(vocabSize: 6400, specialTokens: Self.specials).train(texts)
        let seconds = Date().timeIntervalSince(start)
        print(String(format: "BPE training: %.1f MB, %d merges in %.2f s", Double(bytes) / 1e6, result.merges.count, seconds))
        XCTAssertLessThan(seconds, 60)
    }
}
