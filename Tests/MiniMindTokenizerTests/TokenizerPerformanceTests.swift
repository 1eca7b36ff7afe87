// Load time of a 6400-token tokenizer and encode throughput on mixed Chinese/English text.
// Targets (release build): load < 50 ms, encode >= 1 MB/s. Numbers are printed for Docs/Tokenizer.md.
import Foundation
import XCTest
import MiniMindTokenizer

final class TokenizerPerformanceTests: XCTestCase {
    private func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    func testLoadTime() throws {
        let folder = try TokenizerFixtures.assetFolder("minimind2-v")
        var best = Double.infinity
        for _ in 0..<5 { best = min(best, try seconds { _ = try Tokenizer(contentsOf: folder) }) }
        print(String(format: "tokenizer load (minimind2-v, 6400 tokens): %.1f ms (best of 5)", best * 1000))
        XCTAssertLessThan(best, 0.050, "loading the 6400-token tokenizer should take < 50 ms")
    }

    func testEncodeThroughputMixedText() throws {
        let folder = try TokenizerFixtures.assetFolder("minimind-3v")
        let lines = try String(contentsOf: TokenizerFixtures.url("train_corpus.txt"), encoding: .utf8)
            .components(separatedBy: "\n") + (try TokenizerFixtures.corpus())
        // ~2 MB of varied lines; numbers vary so the word cache does not see only repeats.
        var text = ""
        var k = 0
        while text.utf8.count < 2_000_000 {
            text += lines[k % lines.count] + " \(k * 7919 % 100_000)\n"
            k += 1
        }
        let mb = Double(text.utf8.count) / 1e6
        var best = Double.infinity
        var count = 0
        for _ in 0..<3 {
            let tok = try Tokenizer(contentsOf: folder)  // cold word cache each time
            best = min(best, seconds { count = tok.encode(text).count })
        }
        print(String(format: "encode: %.2f MB -> %d ids in %.3f s = %.1f MB/s (cold cache)", mb, count, best, mb / best))
        XCTAssertGreaterThan(mb / best, 1.0, "encoding should run at >= 1 MB/s")
    }
}
