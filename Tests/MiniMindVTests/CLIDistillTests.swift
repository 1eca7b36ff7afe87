import XCTest
@testable import MiniMindV

/// `minimind-v distill --teacher-cache` through the built binary: the teacher runs for each answer
/// position once, later epochs and later runs read its top-k logits; out-of-range k names the flag.
final class CLIDistillTests: XCTestCase {
    func testTeacherCacheIsWrittenOnceAndReadAfterwards() throws {
        let setup = try DistributedTrainingTests.Setup(self)
        let cache = setup.dir.appendingPathComponent("teacher-cache").path
        func distill(_ out: String, epochs: Int, k: Int = 8) throws -> (read: Int, computed: Int) {
            var args = setup.arguments(batch: 4, out: out, maxSteps: 1000, epochs: epochs,
                                       extra: ["--teacher", setup.model.path, "--teacher-cache", cache, "--teacher-top-k", "\(k)"])
            args[0] = "distill"
            let r = try CLISupport.run(args)
            XCTAssertEqual(r.status, 0, r.stderr)
            let line = try XCTUnwrap(r.stderr.split(separator: "\n").first { $0.hasPrefix("teacher cache ") }, r.stderr)
            let numbers = line.split(separator: ":").last!.split(separator: " ").compactMap { Int($0) }
            XCTAssertEqual(numbers.count, 2, String(line))
            return (numbers[0], numbers[1])
        }
        let first = try distill("run1", epochs: 2)
        XCTAssertGreaterThan(first.computed, 16, "every row's answer positions, once")
        XCTAssertEqual(first.read, first.computed, "the second epoch reads what the first wrote")
        let again = try distill("run2", epochs: 1)
        XCTAssertEqual(again.computed, 0)
        XCTAssertEqual(again.read, first.computed)
        XCTAssertEqual(try distill("run3", epochs: 1, k: 9).computed, first.computed, "another k: another cache")

        for k in ["0", "5000"] {
            var args = setup.arguments(batch: 4, out: "bad", maxSteps: 1, extra: ["--teacher", setup.model.path, "--teacher-top-k", k])
            args[0] = "distill"
            let r = try CLISupport.run(args)
            XCTAssertNotEqual(r.status, 0)
            XCTAssertTrue(r.stderr.contains("--teacher-top-k"), r.stderr)
        }
        // Within 1…4096 but beyond this teacher's vocabulary: the library's field, named with its flag.
        var args = setup.arguments(batch: 4, out: "bad", maxSteps: 1,
                                   extra: ["--teacher", setup.model.path, "--teacher-cache", cache, "--teacher-top-k", "4000"])
        args[0] = "distill"
        let r = try CLISupport.run(args)
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("TeacherLogitCache.topK = 4000") && r.stderr.contains("set by --teacher-top-k"), r.stderr)
    }
}
