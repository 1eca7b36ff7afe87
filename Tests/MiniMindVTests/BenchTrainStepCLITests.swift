import Foundation
import XCTest

/// `bench train step` reports every timed step, so a slow step left in the timed ones (a warm-up too
/// short for the buffer pool: Docs/Performance.md, "Steady-state steps") shows in its output.
final class BenchTrainStepCLITests: XCTestCase {
    private let args = ["bench", "train", "step", "--batch", "1", "--length", "8", "--repetitions", "3", "--threads", "1"]

    func testJSONCarriesEachStepAndTheirMean() throws {
        let r = try CLISupport.run(args + ["--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let step = try XCTUnwrap(json["step"] as? [String: Any])
        let samples = try XCTUnwrap(step["samplesSeconds"] as? [Double])
        XCTAssertEqual(samples.count, 3)
        XCTAssertTrue(samples.allSatisfy { $0 > 0 }, "\(samples)")
        let mean = try XCTUnwrap(step["meanSeconds"] as? Double)
        XCTAssertEqual(mean, samples.reduce(0, +) / 3, accuracy: 1e-12)
    }

    func testTextLineListsEachStep() throws {
        let r = try CLISupport.run(args)
        XCTAssertEqual(r.status, 0, r.stderr)
        let line = try XCTUnwrap(r.stdout.split(separator: "\n").first { $0.contains("step 1×8") })
        let each = try XCTUnwrap(line.split(separator: "(n=3: ").last).dropLast()  // "a b c)"
        XCTAssertEqual(each.split(separator: " ").compactMap { Double($0) }.count, 3, String(line))
    }

    func testNegativeWarmupIsRefusedByName() throws {
        let r = try CLISupport.run(args + ["--warmup=-1"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("--warmup must be zero or more"), r.stderr)
    }
}
