import XCTest
@testable import MiniMindTensor

final class CoreOpsTests: XCTestCase {
    let check = OpCheck()

    func testBroadcastArithmetic() {
        let a = OpCheck.random([3, 4], seed: 1), b = OpCheck.random([4], seed: 2)
        let c = OpCheck.random([3, 1], seed: 3), d = OpCheck.random([2, 1, 4], seed: 4)
        let pos = OpCheck.random([3, 4], seed: 5).mapElements("abs", { abs($0) + 0.5 }, derivative: { _, _ in 0 })
        check.run("add [3,4]+[4]", inputs: [a, b], op: { $0[0] + $0[1] }) { x in
            (0..<12).map { (i: Int) -> Double in x[0][i] + x[1][i % 4] }
        }
        check.run("sub [3,4]-[3,1]", inputs: [a, c], op: { $0[0] - $0[1] }) { x in
            (0..<12).map { (i: Int) -> Double in x[0][i] - x[1][i / 4] }
        }
        check.run("mul [2,1,4]*[3,4]", inputs: [d, a], op: { $0[0] * $0[1] }) { x in
            (0..<24).map { (i: Int) -> Double in x[0][(i / 12) * 4 + i % 4] * x[1][i % 12] }
        }
        check.run("div [3,4]/[3,4]", inputs: [a, pos], op: { $0[0] / $0[1] }) { x in
            (0..<12).map { (i: Int) -> Double in x[0][i] / x[1][i] }
        }
        check.run("affine", inputs: [a], op: { $0[0] * 3 + 1 }) { x in x[0].map { 3 * $0 + 1 } }
    }

    func testUnaryMaps() {
        let a = OpCheck.random([5, 7], seed: 11)
        let pos = a.mapElements("abs", { abs($0) + 0.1 }, derivative: { _, _ in 0 })
        check.run("exp", inputs: [a], op: { $0[0].exp() }) { x in x[0].map { Foundation.exp($0) } }
        check.run("log", inputs: [pos], op: { $0[0].log() }) { x in x[0].map { Foundation.log($0) } }
        check.run("sqrt", inputs: [pos], op: { $0[0].sqrt() }) { x in x[0].map { $0.squareRoot() } }
        check.run("tanh", inputs: [a], op: { $0[0].tanh() }) { x in x[0].map { Foundation.tanh($0) } }
        check.run("sigmoid", inputs: [a], op: { $0[0].sigmoid() }) { x in x[0].map { 1 / (1 + Foundation.exp(-$0)) } }
    }

    func testReductions() {
        let a = OpCheck.random([2, 3, 4], seed: 21)
        check.run("sum", inputs: [a], op: { $0[0].sum() }) { x in [x[0].reduce(0, +)] }
        check.run("mean(axis 1)", inputs: [a], op: { $0[0].mean(axis: 1) }) { x in
            (0..<8).map { (o: Int) -> Double in
                var s = 0.0
                for j in 0..<3 { s += x[0][(o / 4) * 12 + j * 4 + o % 4] }
                return s / 3
            }
        }
        check.run("max(axis -1)", inputs: [a], op: { $0[0].max(axis: -1) }) { x in
            (0..<6).map { (r: Int) -> Double in x[0][(r * 4)..<(r * 4 + 4)].max() ?? 0 }
        }
        XCTAssertEqual(Tensor(shape: [2, 3], data: [1, 5, 2, 7, 0, 7]).argmax(axis: 1), [1, 0])
        XCTAssertEqual(Tensor(shape: [2, 3], data: [1, 5, 2, 7, 0, 7]).argmax(axis: 0), [1, 0, 1])
    }

    func testShapeOps() {
        let a = OpCheck.random([2, 3, 4], seed: 31)
        check.run("permute(2,0,1)", inputs: [a], op: { $0[0].permuted([2, 0, 1]) }) { x in
            var out: [Double] = []
            for k in 0..<4 { for i in 0..<2 { for j in 0..<3 { out.append(x[0][i * 12 + j * 4 + k]) } } }
            return out
        }
        check.run("slice axis 1", inputs: [a], op: { $0[0].slice(axis: 1, 1..<3) * 2 }) { x in
            var out: [Double] = []
            for i in 0..<2 { for j in 1..<3 { for k in 0..<4 { out.append(2 * x[0][i * 12 + j * 4 + k]) } } }
            return out
        }
        let b = OpCheck.random([2, 2, 4], seed: 32)
        check.run("concat axis 1", inputs: [a, b], op: { Tensor.concat([$0[0], $0[1]], axis: 1) }) { x in
            var out: [Double] = []
            for i in 0..<2 {
                out += x[0][(i * 12)..<(i * 12 + 12)]
                out += x[1][(i * 8)..<(i * 8 + 8)]
            }
            return out
        }
        let s = Tensor.stack([Tensor([1, 2]), Tensor([3, 4])], axis: 1)
        XCTAssertEqual(s.shape, [2, 2])
        XCTAssertEqual(s.toArray(), [1, 3, 2, 4])
        XCTAssertEqual(a.reshaped([6, -1]).shape, [6, 4])
    }

    func testMatmulAllTransposes() {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let (m, k, n) = (3, 5, 4)
            let a = OpCheck.random(ta ? [k, m] : [m, k], seed: 41), b = OpCheck.random(tb ? [n, k] : [k, n], seed: 42)
            check.run("matmul ta=\(ta) tb=\(tb)", inputs: [a, b], op: { matmul($0[0], $0[1], transposeA: ta, transposeB: tb) }) { x in
                Ref.matmul(ta ? Ref.transpose(x[0], rows: k, cols: m) : x[0], tb ? Ref.transpose(x[1], rows: n, cols: k) : x[1], m: m, k: k, n: n)
            }
        }
    }

    func testBatchedMatmulAndSharedMatrix() {
        let a = OpCheck.random([2, 3, 5], seed: 51), b = OpCheck.random([2, 5, 4], seed: 52), w = OpCheck.random([5, 4], seed: 53)
        check.run("bmm", inputs: [a, b], op: { matmul($0[0], $0[1]) }) { x in
            (0..<2).flatMap { i in Ref.matmul(Array(x[0][(i * 15)..<(i * 15 + 15)]), Array(x[1][(i * 20)..<(i * 20 + 20)]), m: 3, k: 5, n: 4) }
        }
        check.run("batched × shared", inputs: [a, w], op: { matmul($0[0], $0[1]) }) { x in
            (0..<2).flatMap { i in Ref.matmul(Array(x[0][(i * 15)..<(i * 15 + 15)]), x[1], m: 3, k: 5, n: 4) }
        }
        let at = OpCheck.random([2, 5, 3], seed: 54)
        check.run("batchedᵀ × shared", inputs: [at, w], op: { matmul($0[0], $0[1], transposeA: true) }) { x in
            (0..<2).flatMap { i in Ref.matmul(Ref.transpose(Array(x[0][(i * 15)..<(i * 15 + 15)]), rows: 5, cols: 3), x[1], m: 3, k: 5, n: 4) }
        }
    }

    func testLinearWithAndWithoutBiasAndSingleRow() {
        for rows in [1, 6] {
            let x = OpCheck.random([rows, 5], seed: 61), w = OpCheck.random([3, 5], seed: 62), b = OpCheck.random([3], seed: 63)
            check.run("linear+bias rows=\(rows)", inputs: [x, w, b], op: { linear($0[0], weight: $0[1], bias: $0[2]) }) { v in
                let y = Ref.matmul(v[0], Ref.transpose(v[1], rows: 3, cols: 5), m: rows, k: 5, n: 3)
                return y.enumerated().map { $0.element + v[2][$0.offset % 3] }
            }
            check.run("linear rows=\(rows)", inputs: [x, w], op: { linear($0[0], weight: $0[1]) }) { v in
                Ref.matmul(v[0], Ref.transpose(v[1], rows: 3, cols: 5), m: rows, k: 5, n: 3)
            }
        }
    }

    func testFrozenWeightGetsNoGradientButInputDoes() {
        let x = Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6], requiresGrad: true)
        let w = Tensor(shape: [2, 3], data: [1, 0, 0, 0, 1, 0])  // frozen
        linear(x, weight: w).sum().backward()
        XCTAssertNil(w.grad)
        XCTAssertEqual(x.grad?.toArray(), [1, 1, 0, 1, 1, 0])
    }

    /// linear writes a trainable weight's gradient straight into `.grad` (GEMM beta 0, then 1): a weight
    /// used twice in one graph, then once more in a second backward, must hold the sum of all three.
    func testLinearWeightGradientAccumulatesInPlaceAcrossUsesAndBackwardCalls() {
        let x1 = OpCheck.random([4, 5], seed: 71), x2 = OpCheck.random([2, 5], seed: 72), x3 = OpCheck.random([3, 5], seed: 73)
        let w = Tensor(shape: [3, 5], data: OpCheck.random([3, 5], seed: 74).toArray(), requiresGrad: true)
        (linear(x1, weight: w).sum() + (linear(x2, weight: w) * 2).sum()).backward()
        linear(x3, weight: w).sum().backward()
        // d/dW of Σ(x·Wᵀ)·c is c · (column sums of x) in every row.
        let colSum = { (x: Tensor, rows: Int) in (0..<5).map { j in (0..<rows).reduce(Float(0)) { $0 + x.toArray()[$1 * 5 + j] } } }
        let s1 = colSum(x1, 4), s2 = colSum(x2, 2), s3 = colSum(x3, 3)
        let expected = (0..<3).flatMap { _ in (0..<5).map { s1[$0] + 2 * s2[$0] + s3[$0] } }
        guard let grad = w.grad?.toArray() else { return XCTFail("no gradient") }
        for (g, e) in zip(grad, expected) { XCTAssertEqual(g, e, accuracy: 1e-4) }
    }

    func testGradientsAccumulateAndGraphIsReleased() {
        let w = Tensor(shape: [2], data: [1, 2], requiresGrad: true)
        let y = (w * w).sum()
        y.backward()
        XCTAssertEqual(w.grad?.toArray(), [2, 4])
        XCTAssertNil(y.gradFn)
        (w * 3).sum().backward()
        XCTAssertEqual(w.grad?.toArray(), [5, 7])
        w.zeroGrad()
        XCTAssertNil(w.grad)
        let z = noGrad { (w * w).sum() }
        XCTAssertNil(z.gradFn)
    }

    func testDiamondGraphSumsBothPaths() {
        let x = Tensor(shape: [3], data: [1, 2, 3], requiresGrad: true)
        let a = x * 2, b = x * x
        (a + b).sum().backward()
        XCTAssertEqual(x.grad?.toArray(), [4, 6, 8])
    }
}
