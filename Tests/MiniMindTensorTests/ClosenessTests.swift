import XCTest
import TestSupport

/// The comparison helper itself must fail on what the old forms let through.
final class ClosenessTests: XCTestCase {
    func testNaNAnywhereIsNaN() {
        XCTAssertTrue(worstDifference([1, 2, 3] as [Double], [1, 2, 3]) == 0)
        XCTAssertTrue(worstDifference([1, .nan, 3] as [Double], [1, 2, 3]).isNaN, "NaN in the middle")
        XCTAssertTrue(worstDifference([1, 2, 3] as [Double], [1, 2, .nan]).isNaN, "NaN in the reference")
        XCTAssertTrue(worstDifference([.nan, 5] as [Float], [0, 0] as [Float]).isNaN, "NaN first")
        XCTAssertTrue(worstDifference([.infinity] as [Double], [1]).isInfinite)
        XCTAssertTrue(worstDifference([-.infinity, 1] as [Double], [-.infinity, 1]) == 0, "equal infinities")
        XCTAssertTrue(worstDifference([.infinity] as [Double], [-.infinity]).isInfinite)
    }

    func testLengthMismatchIsNaN() {
        XCTAssertTrue(worstDifference([] as [Double], [1]).isNaN, "an empty output")
        XCTAssertTrue(worstDifference([1, 2] as [Double], [1]).isNaN)
        XCTAssertEqual(worstDifference([] as [Double], []), 0)
    }

    func testMeasureAndValue() {
        XCTAssertEqual(worstDifference([1, 2, 10] as [Double], [1, 2.5, 9]), 1)
        XCTAssertEqual(worstDifference([0, 102] as [Double], [0, 100], relativeToOne), 0.02, accuracy: 1e-12)
    }

    func testAssertFailsOnNaNAndLength() {
        XCTAssertNotNil(closenessProblem([1, .nan], [1, 2], tolerance: 1e9), "NaN")
        XCTAssertNotNil(closenessProblem([1], [1, 2], tolerance: 1e9), "length")
        XCTAssertNotNil(closenessProblem([], [1], tolerance: 1e9), "empty output")
        XCTAssertNotNil(closenessProblem([1, 2], [1, 2.5], tolerance: 0.1), "over tolerance")
        XCTAssertNil(closenessProblem([1, 2], [1, 2.05], tolerance: 0.1))
        XCTAssertNil(closenessProblem([-.infinity, 0], [-.infinity, 0], tolerance: 0))
    }
}
