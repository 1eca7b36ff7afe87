import XCTest
import TestSupport
@testable import MiniMindTensor

/// Seeded inverted dropout and embedding lookup with scatter-add backward.
final class OpsADropoutEmbeddingTests: XCTestCase {
    let check = OpCheck()

    func testDropoutIsIdentityInEvalOrAtZeroProbability() {
        var g = SeededGenerator(seed: 1)
        let x = OpCheck.random([10], seed: 2)
        XCTAssertTrue(dropout(x, p: 0.5, training: false, generator: &g) === x)
        XCTAssertTrue(dropout(x, p: 0, training: true, generator: &g) === x)
        XCTAssertEqual(dropout(x, p: 1, training: true, generator: &g).toArray(), Array(repeating: 0, count: 10))
    }

    func testDropoutMaskFollowsTheSeedAndScalesSurvivors() {
        let p: Float = 0.3
        let x = OpCheck.random([4, 25], seed: 3)
        // Reference: the same generator stream decides drops in element order (u < p drops).
        func reference(_ v: [Double]) -> [Double] {
            var g = SeededGenerator(seed: 42)
            return v.map { g.nextUniform() < p ? 0 : $0 / (1 - Double(p)) }
        }
        check.run("dropout p=0.3", inputs: [x], op: { t in
            var g = SeededGenerator(seed: 42)
            return dropout(t[0], p: p, training: true, generator: &g)
        }) { v in reference(v[0]) }
        // Drop rate over many elements is close to p.
        var g = SeededGenerator(seed: 9)
        let big = dropout(Tensor.ones([100_000]), p: p, training: true, generator: &g).toArray()
        let dropped = Double(big.filter { $0 == 0 }.count) / 100_000
        XCTAssertEqual(dropped, Double(p), accuracy: 0.01)
        XCTAssertEqual(big.first { $0 != 0 } ?? 0, 1 / (1 - p), accuracy: 1e-6)
    }

    func testEmbeddingForwardAndScatterAddBackward() {
        let w = OpCheck.random([7, 5], seed: 11)
        let ids = [3, 0, 3, 6, 1, 3]  // repeated ids must accumulate
        check.run("embedding", inputs: [w], op: { embedding(ids: ids, weight: $0[0]) }) { p in
            ids.flatMap { Array(p[0][($0 * 5)..<($0 * 5 + 5)]) }
        }
        check.run("embedding [2,3]", inputs: [w], op: { embedding(ids: ids, shape: [2, 3], weight: $0[0]) }) { p in
            ids.flatMap { Array(p[0][($0 * 5)..<($0 * 5 + 5)]) }
        }
        XCTAssertEqual(embedding(ids: ids, shape: [2, 3], weight: w).shape, [2, 3, 5])
        // A frozen table records nothing.
        XCTAssertNil(embedding(ids: ids, weight: w).gradFn)
    }

    func testEmbeddingAtModelWidthMatchesScatterAdd() {
        let (v, d) = (300, 512)
        let w = Tensor(shape: [v, d], data: OpCheck.random([v, d], seed: 12).toArray(), requiresGrad: true)
        let ids = (0..<640).map { ($0 * 37) % v }
        let g = OpCheck.random([640, d], seed: 13)
        let y = embedding(ids: ids, weight: w)
        XCTAssertEqual(Array(y.toArray()[(5 * d)..<(6 * d)]), Array(w.toArray()[(ids[5] * d)..<(ids[5] * d + d)]))
        y.backward(seed: g)
        var ref = [Double](repeating: 0, count: v * d)
        let gd = g.toArray()
        for (r, id) in ids.enumerated() { for j in 0..<d { ref[id * d + j] += Double(gd[r * d + j]) } }
        let err = worstDifference(w.grad?.toArray() ?? [], ref)
        XCTAssertLessThan(err, 1e-5)
    }
}
