import XCTest

/// The one way the test targets compare numbers with references. Unlike `zip(...).map{...}.max()`
/// or `reduce(0) { max($0, …) }`, which ignore a NaN difference (every comparison with NaN is false)
/// and silently compare only the common prefix of two lists, `worstDifference` is NaN when the
/// lengths differ or any difference is NaN, so every `<=` check on it fails. Equal values (including
/// equal infinities, as in masked logits) differ by 0.
public func worstDifference(_ got: [Double], _ want: [Double],
                     _ measure: (Double, Double) -> Double = { abs($0 - $1) }) -> Double {
    guard got.count == want.count else { return .nan }
    var worst = 0.0
    for (a, b) in zip(got, want) where a != b {
        let d = measure(a, b)
        if d.isNaN { return .nan }
        worst = max(worst, d)
    }
    return worst
}

public func worstDifference(_ got: [Float], _ want: [Float], _ measure: (Double, Double) -> Double = { abs($0 - $1) }) -> Double {
    worstDifference(got.map(Double.init), want.map(Double.init), measure)
}

public func worstDifference(_ got: [Float], _ want: [Double], _ measure: (Double, Double) -> Double = { abs($0 - $1) }) -> Double {
    worstDifference(got.map(Double.init), want, measure)
}

/// |a − b| / max(1, |b|): absolute near zero, relative for large references.
public func relativeToOne(_ a: Double, _ b: Double) -> Double { abs(a - b) / max(1, abs(b)) }

/// Why `got` is not within `tolerance` of `want` (length, NaN, or the worst difference), or nil.
public func closenessProblem(_ got: [Float], _ want: [Float], tolerance: Double,
                      _ measure: (Double, Double) -> Double = { abs($0 - $1) }) -> String? {
    guard got.count == want.count else { return "\(got.count) values, the reference has \(want.count)" }
    let worst = worstDifference(got, want, measure)
    return worst <= tolerance ? nil : "worst difference \(worst) exceeds \(tolerance)"
}

/// Fails unless both lists have the same length, no difference is NaN, and the worst difference is
/// within `tolerance`.
public func XCTAssertClose(_ got: [Float], _ want: [Float], tolerance: Double,
                    _ measure: (Double, Double) -> Double = { abs($0 - $1) }, _ message: @autoclosure () -> String = "",
                    file: StaticString = #filePath, line: UInt = #line) {
    if let problem = closenessProblem(got, want, tolerance: tolerance, measure) {
        XCTFail("\(message()): \(problem)", file: file, line: line)
    }
}
