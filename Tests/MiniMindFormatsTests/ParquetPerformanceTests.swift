import Foundation
import XCTest
import MiniMindFormats

/// Prints read throughput for a larger file made by `Scripts/gen_parquet_fixtures.py --perf PATH`
/// (not committed: it is several MB). No timing assertions: the number goes into Docs.
final class ParquetPerformanceTests: XCTestCase {
    func testReadThroughput() throws {
        guard let path = ProcessInfo.processInfo.environment["PARQUET_PERF_FILE"] else {
            throw XCTSkip("set PARQUET_PERF_FILE to a file made by Scripts/gen_parquet_fixtures.py --perf PATH to measure rows/s")
        }
        let url = URL(fileURLWithPath: path)
        let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.doubleValue ?? 0
        for pass in 0..<3 {
            let started = Date()
            let rows = try ParquetReader(url: url).miniMindRows()
            var count = 0, imageBytes = 0
            while let row = try rows.next() {
                count += 1
                imageBytes += row.images.reduce(0) { $0 + $1.count }
            }
            let seconds = Date().timeIntervalSince(started)
            print(String(format: "Parquet pass %d: %d rows in %.3f s = %.0f rows/s, %.1f MB/s of file, %d image bytes",
                         pass, count, seconds, Double(count) / seconds, size / seconds / 1e6, imageBytes))
        }
    }
}
