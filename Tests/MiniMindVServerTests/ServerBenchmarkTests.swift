import XCTest
import MiniMindVBench
@testable import MiniMindVServer

/// `minimind-v bench serve`'s clients (`ServeBenchmark`) against the tiny model on loopback.
final class ServerBenchmarkTests: XCTestCase {
    func testRowsCountEveryClientsTokens() async throws {
        let running = try await RunningServer(generator: try ServerTestModel.generator()) { $0.maxBatch = 4 }
        var bench = ServeBenchmark(base: running.base)
        bench.tokens = 6
        var seen: [Int] = []
        let rows = try await bench.run(clients: [1, 3, 5]) { seen.append($0.clients) }
        try await running.stop()
        XCTAssertEqual(seen, [1, 3, 5], "a row per run, handed over as measured")
        XCTAssertEqual(rows.map(\.tokens), [6, 18, 30], "ignore_eos: every answer is exactly --tokens long")
        for row in rows {
            XCTAssertTrue(row.ttftP50.isFinite && row.ttftP50 > 0 && row.ttftP95 >= row.ttftP50, "\(row)")
            XCTAssertGreaterThan(row.tokensPerSecond, 0)
            XCTAssertNil(row.peakRSSMB, "no memory probe given")
        }
        XCTAssertTrue(ServeBenchmark.tableLine(rows[1]).hasPrefix("| 3 | "))
    }

    /// Steady streams: every client sends its requests one after another, all of them counted.
    func testSteadyStreamsCountEveryRequest() async throws {
        let running = try await RunningServer(generator: try ServerTestModel.generator()) { $0.maxBatch = 4 }
        var bench = ServeBenchmark(base: running.base)
        bench.tokens = 5
        bench.requestsPerClient = 3
        let rows = try await bench.run(clients: [2, 4])
        try await running.stop()
        XCTAssertEqual(rows.map(\.tokens), [30, 60], "clients × requests × tokens")
        XCTAssertEqual(rows.map(\.requestsPerClient), [3, 3])
        XCTAssertTrue(ServeBenchmark.tableLine(rows[0]).hasPrefix("| 2 steady × 3 | "))
        XCTAssertTrue(rows.allSatisfy { $0.ttftP50.isFinite && $0.ttftP95 >= $0.ttftP50 })
    }

    /// Ranks as Python's `round` (halves to even) picks them, so the table reads as it always has.
    func testPercentileRanks() {
        XCTAssertEqual(ServeBenchmark.percentile([3, 1, 2, 4], 50), 3)  // 1.5 → 2
        XCTAssertEqual(ServeBenchmark.percentile([3, 1, 2, 4], 95), 4)
        XCTAssertEqual(ServeBenchmark.percentile([2, 1], 50), 1)  // 0.5 → 0
        XCTAssertTrue(ServeBenchmark.percentile([], 50).isNaN)
        XCTAssertEqual(ServeBenchmark.percentile([.nan, 2, 1], 95), 2, "no first token: left out")
    }
}
