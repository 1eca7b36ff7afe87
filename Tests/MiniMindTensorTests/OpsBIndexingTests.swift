import XCTest
@testable import MiniMindTensor

final class OpsBIndexingTests: XCTestCase {
    let check = OpCheck()

    /// Stable descending order of one row (ties: lower index first).
    static func referenceTopK(_ row: [Double], k: Int) -> [Int] {
        Array(row.indices.sorted { row[$0] > row[$1] || (row[$0] == row[$1] && $0 < $1) }.prefix(k))
    }

    func testTopKValuesIndicesAndGradient() {
        let x = OpCheck.random([5, 7], seed: 401)
        for k in [1, 2, 7] {
            let (values, indices) = topK(x, k: k)
            XCTAssertEqual(values.shape, [5, k])
            let rows = x.toArray().map(Double.init)
            var expected: [Int] = []
            for r in 0..<5 { expected += Self.referenceTopK(Array(rows[(r * 7)..<(r * 7 + 7)]), k: k) }
            XCTAssertEqual(indices, expected)
            check.run("topK k=\(k)", inputs: [x], op: { topK($0[0], k: k).values }) { v in
                var out: [Double] = []
                for r in 0..<5 {
                    let row = Array(v[0][(r * 7)..<(r * 7 + 7)])
                    out += Self.referenceTopK(row, k: k).map { row[$0] }
                }
                return out
            }
        }
        // The sort path (k > 32) agrees with the insertion path's rule.
        let wide = OpCheck.random([2, 80], seed: 402)
        let (_, wideIdx) = topK(wide, k: 40)
        let w = wide.toArray().map(Double.init)
        XCTAssertEqual(wideIdx, Self.referenceTopK(Array(w[0..<80]), k: 40) + Self.referenceTopK(Array(w[80..<160]), k: 40))
    }

    func testTopKTiesAndNaN() {
        XCTAssertEqual(topK(Tensor([1, 3, 3, 2, 3]), k: 3).indices, [1, 2, 4])
        let (v, i) = topK(Tensor([1, .nan, 5, 2]), k: 2)
        XCTAssertEqual(i, [1, 2])
        XCTAssertTrue(v.toArray()[0].isNaN)
        XCTAssertEqual(topK(Tensor(shape: [2, 3], data: [0, 0, 0, 4, 4, 4]), k: 2).indices, [0, 1, 0, 1])
    }

    func testIndexSelectWithRepeats() {
        let x = OpCheck.random([4, 3, 2], seed: 411)
        let rows = [2, 0, 2, 3]
        check.run("indexSelect axis 0", inputs: [x], op: { indexSelect($0[0], axis: 0, indices: rows) }) { v in
            var out: [Double] = []
            for r in rows { out += v[0][(r * 6)..<(r * 6 + 6)] }
            return out
        }
        let cols = [1, 1, 0]
        check.run("indexSelect axis 1", inputs: [x], op: { indexSelect($0[0], axis: 1, indices: cols) }) { v in
            var out: [Double] = []
            for b in 0..<4 {
                for c in cols {
                    let start: Int = b * 6 + c * 2
                    out += v[0][start..<(start + 2)]
                }
            }
            return out
        }
    }

    func testScatterAddAccumulatesRepeats() {
        let base = OpCheck.random([4, 3], seed: 421), source = OpCheck.random([3, 3], seed: 422)
        let rows = [1, 3, 1]
        check.run("scatterAdd", inputs: [base, source], op: { scatterAdd(into: $0[0], rows: rows, source: $0[1]) }) { v in
            var out = v[0]
            for (m, r) in rows.enumerated() { for j in 0..<3 { out[r * 3 + j] += v[1][m * 3 + j] } }
            return out
        }
        // Out of place: the base keeps its values.
        let before = base.toArray()
        _ = scatterAdd(into: base, rows: rows, source: source)
        XCTAssertEqual(base.toArray(), before)
    }

    func testGatherAndMaskedFill() {
        let x = OpCheck.random([2, 3, 4], seed: 431)
        let idx = [3, 0, 1, 1, 2, 0]
        check.run("gather last axis", inputs: [x], op: { gather($0[0], indices: idx) }) { v in
            var out: [Double] = []
            for (r, i) in idx.enumerated() { out.append(v[0][r * 4 + i]) }
            return out
        }
        let mask = (0..<24).map { $0 % 5 == 0 }
        check.run("maskedFill", inputs: [x], op: { maskedFill($0[0], mask: mask, value: -3) }) { v in
            var out = v[0]
            for i in out.indices where mask[i] { out[i] = -3 }
            return out
        }
    }
}
