import Foundation
import XCTest
@testable import MiniMindV

/// Reads Tests/Fixtures/remedies/remedies.json (Scripts/gen_remedies_fixture.py, PyTorch).
enum RemedyFixtures {
    static let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/remedies/remedies.json")

    static func section(_ name: String) throws -> [String: Any] {
        let all = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        return try XCTUnwrap(all[name] as? [String: Any], "no \(name) in the remedies fixture")
    }

    static func floats(_ s: [String: Any], _ key: String) throws -> [Float] {
        try XCTUnwrap(s[key] as? [Double], "no \(key)").map(Float.init)
    }

    static func doubles(_ s: [String: Any], _ key: String) throws -> [Double] {
        try XCTUnwrap(s[key] as? [Double], "no \(key)")
    }

    static func assertClose(_ a: [Float], _ b: [Float], tol: Float, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, tol, "\(what): max |Δ| \(worst)", file: file, line: line)
    }
}
