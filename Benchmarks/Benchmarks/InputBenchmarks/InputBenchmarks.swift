import Benchmark
import Foundation
import MiniMindV

/// Reading inputs: tokenizer load and encode, Parquet rows, image preprocessing. These were timing
/// checks in the test suite; speed is measured here, and the tests check behaviour.
///   TOKENIZER_DIR=../Tests/Fixtures/upstream/minimind-3v PARQUET_PERF_FILE=/tmp/p.parquet swift package benchmark --target InputBenchmarks
/// (`python3 Scripts/gen_parquet_fixtures.py --perf /tmp/p.parquet` writes the Parquet file.)
let benchmarks: @Sendable () -> Void = {
    let config = Benchmark.Configuration(metrics: [.wallClock, .throughput, .mallocCountTotal],
                                         maxDuration: .seconds(5), maxIterations: 50)
    let env = ProcessInfo.processInfo.environment
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    let tokenizerFolder = env["TOKENIZER_DIR"].map { URL(fileURLWithPath: $0) }
        ?? repo.appendingPathComponent("Tests/Fixtures/upstream/minimind-3v")

    Benchmark("tokenizer load (6400 tokens)", configuration: config) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try Tokenizer(contentsOf: tokenizerFolder)) }
    }

    // ~2 MB of varied lines, cold word cache each iteration (throughput = MB/s × 1e6 bytes).
    if let corpus = try? String(contentsOf: repo.appendingPathComponent("Tests/Fixtures/tokenizer/train_corpus.txt"), encoding: .utf8) {
        let lines = corpus.components(separatedBy: "\n")
        var text = "", k = 0
        while text.utf8.count < 2_000_000 { text += lines[k % lines.count] + " \(k * 7919 % 100_000)\n"; k += 1 }
        Benchmark("tokenizer encode 2 MB mixed text, cold cache", configuration: config) { benchmark in
            for _ in benchmark.scaledIterations {
                let tok = try Tokenizer(contentsOf: tokenizerFolder)
                blackHole(tok.encode(text))
            }
        }
    }

    if let path = env["PARQUET_PERF_FILE"] {
        Benchmark("Parquet rows (MiniMind-V layout)", configuration: config) { benchmark in
            for _ in benchmark.scaledIterations {
                let rows = try ParquetReader(url: URL(fileURLWithPath: path)).miniMindRows()
                while let row = try rows.next() { blackHole(row) }
            }
        }
    }

    var state: UInt32 = 12345
    let pixels = (0..<(1152 * 864 * 3)).map { _ -> UInt8 in
        state = state &* 1664525 &+ 1013904223
        return UInt8(truncatingIfNeeded: state >> 24)
    }
    if let image = try? RGBImage(width: 1152, height: 864, pixels: pixels) {
        Benchmark("preprocess 1152x864 -> clip224", configuration: config) { benchmark in
            for _ in benchmark.scaledIterations { blackHole(try ImagePreprocessing.clip224(image)) }
        }
        Benchmark("preprocess 1152x864 -> siglip256", configuration: config) { benchmark in
            for _ in benchmark.scaledIterations { blackHole(try ImagePreprocessing.siglip256(image)) }
        }
    }
}
