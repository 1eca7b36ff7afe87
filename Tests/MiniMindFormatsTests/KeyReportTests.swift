import XCTest
@testable import MiniMindFormats

final class KeyReportTests: XCTestCase {
    func testReportsMissingUnexpectedAndMisshapedTogether() throws {
        let sd = StateDict([("a", try TensorData(tensor: .zeros([2, 3]))), ("b", try TensorData(tensor: .zeros([4]))),
                            ("extra.1", try TensorData(tensor: .zeros([1]))), ("extra.0", try TensorData(tensor: .zeros([1])))])
        let report = checkKeys(expected: ["a": [2, 3], "b": [5], "c": [1], "d": [2]], in: sd)
        XCTAssertEqual(report.missing, ["c", "d"])
        XCTAssertEqual(report.unexpected, ["extra.0", "extra.1"])
        XCTAssertEqual(report.misshaped, [.init(key: "b", expected: [5], found: [4])])
        XCTAssertFalse(report.isClean)
        XCTAssertThrowsError(try report.check()) { e in
            let text = "\(e)"
            for needle in ["2 missing", "2 unexpected", "1 mis-shaped", "c, d", "extra.0, extra.1", "b: expected shape [5], found [4]"] {
                XCTAssertTrue(text.contains(needle), "message lacks '\(needle)': \(text)")
            }
        }
        let clean = checkKeys(expected: ["a": [2, 3], "b": [4], "extra.0": [1], "extra.1": [1]], in: sd)
        XCTAssertTrue(clean.isClean)
        XCTAssertNoThrow(try clean.check())
        XCTAssertNoThrow(try checkKeys(expected: ["a": [2, 3]], in: sd).check(allowUnexpected: true))
    }
}
