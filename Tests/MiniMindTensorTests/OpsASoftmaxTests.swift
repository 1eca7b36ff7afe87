import XCTest
import TestSupport
@testable import MiniMindTensor

/// Softmax, log-softmax and the SIMD exp under them, against naive Double references.
final class OpsASoftmaxTests: XCTestCase {
    let check = OpCheck()

    static func softmaxRows(_ x: [Double], width n: Int) -> [Double] {
        stride(from: 0, to: x.count, by: n).flatMap { start -> [Double] in
            let row = x[start..<(start + n)]
            let m = row.max() ?? 0
            if m == -.infinity { return Array(repeating: 0, count: n) }
            let e = row.map { Foundation.exp($0 - m) }
            let s = e.reduce(0, +)
            return e.map { $0 / s }
        }
    }

    static func logSoftmaxRows(_ x: [Double], width n: Int) -> [Double] {
        stride(from: 0, to: x.count, by: n).flatMap { start -> [Double] in
            let row = x[start..<(start + n)]
            let m = row.max() ?? 0
            let ls = Foundation.log(row.map { Foundation.exp($0 - m) }.reduce(0, +))
            return row.map { ($0 - m) - ls }
        }
    }

    func testSoftmaxAndLogSoftmaxLastAxisWithTails() {
        // Widths below, at and across the 16-lane SIMD width exercise the padded tail.
        for n in [1, 5, 16, 37] {
            let x = OpCheck.random([3, n], seed: UInt64(n), scale: 3)
            check.run("softmax width \(n)", inputs: [x], op: { softmax($0[0]) }) { v in Self.softmaxRows(v[0], width: n) }
            check.run("logSoftmax width \(n)", inputs: [x], op: { logSoftmax($0[0]) }) { v in Self.logSoftmaxRows(v[0], width: n) }
        }
    }

    func testSoftmaxOverInnerAxis() {
        let x = OpCheck.random([3, 4, 2], seed: 3)
        // Reference: move axis 1 last, apply, move back.
        func perm(_ v: [Double], _ f: ([Double], Int) -> [Double]) -> [Double] {
            var moved = [Double](repeating: 0, count: 24)
            for i in 0..<3 { for j in 0..<4 { for k in 0..<2 { moved[(i * 2 + k) * 4 + j] = v[i * 8 + j * 2 + k] } } }
            let y = f(moved, 4)
            var back = [Double](repeating: 0, count: 24)
            for i in 0..<3 { for j in 0..<4 { for k in 0..<2 { back[i * 8 + j * 2 + k] = y[(i * 2 + k) * 4 + j] } } }
            return back
        }
        check.run("softmax axis 1", inputs: [x], op: { softmax($0[0], axis: 1) }) { v in perm(v[0], Self.softmaxRows) }
        check.run("logSoftmax axis 1", inputs: [x], op: { logSoftmax($0[0], axis: 1) }) { v in perm(v[0], Self.logSoftmaxRows) }
    }

    func testLargeMagnitudeLogitsStayExact() {
        // ±1e4-scale logits overflow a naive exp; the max shift keeps softmax exact.
        let x = OpCheck.random([4, 33], seed: 9, scale: 1e4)
        let loose = OpCheck(forwardTolerance: 1e-5)
        loose.run("softmax ±1e4", inputs: [x], differentiable: [false], op: { softmax($0[0]) }) { v in Self.softmaxRows(v[0], width: 33) }
        let y = logSoftmax(x).toArray()
        let ref = Self.logSoftmaxRows(x.toArray().map(Double.init), width: 33)
        for (a, b) in zip(y, ref) { XCTAssertEqual(Double(a), b, accuracy: 1e-6 * max(1, abs(b))) }
        // Near-ties at a huge offset: only the differences matter.
        let tie = Tensor(shape: [1, 3], data: [1e30, 1e30, -1e30])
        XCTAssertEqual(softmax(tie).toArray(), [0.5, 0.5, 0])
        XCTAssertEqual(logSoftmax(tie).toArray()[0], -Float(Foundation.log(2.0)), accuracy: 1e-7)
    }

    func testMaskedEntriesAndFullyMaskedRows() {
        let ninf = -Float.infinity
        let data: [Float] = [0.5, ninf, 1.5, ninf, -0.25, 2,   // partly masked
                             ninf, ninf, ninf, ninf, ninf, ninf, // fully masked
                             3, 1, ninf, 0, ninf, -1]
        let x = Tensor(shape: [3, 6], data: data, requiresGrad: true)
        let y = softmax(x)
        let ref = Self.softmaxRows(data.map(Double.init), width: 6)
        for (a, b) in zip(y.toArray(), ref) { XCTAssertEqual(Double(a), b, accuracy: 1e-7) }
        XCTAssertEqual(Array(y.toArray()[6..<12]), Array(repeating: 0, count: 6))
        // Gradient: y ⊙ (g − Σ g⊙y) in Double; masked entries and the masked row get exactly 0.
        var rng = SeededGenerator(seed: 5)
        let cot = (0..<18).map { _ in rng.nextNormal() }
        (y * Tensor(shape: [3, 6], data: cot)).sum().backward()
        let gx = x.grad?.toArray() ?? []
        for r in 0..<3 {
            let yr = Array(ref[(r * 6)..<(r * 6 + 6)]), cr = cot[(r * 6)..<(r * 6 + 6)].map(Double.init)
            let s = zip(yr, cr).map { $0 * $1 }.reduce(0, +)
            for j in 0..<6 { XCTAssertEqual(Double(gx[r * 6 + j]), yr[j] * (cr[j] - s), accuracy: 1e-6) }
        }
        XCTAssertFalse(gx.contains { $0.isNaN })

        let xl = Tensor(shape: [3, 6], data: data, requiresGrad: true)
        let ly = logSoftmax(xl)
        let lref = Self.logSoftmaxRows(data.map(Double.init), width: 6)
        for (i, (a, b)) in zip(ly.toArray(), lref).enumerated() where i / 6 != 1 {
            if b == -.infinity { XCTAssertEqual(a, -.infinity) } else { XCTAssertEqual(Double(a), b, accuracy: 1e-6) }
        }
        XCTAssertEqual(Array(ly.toArray()[6..<12]), Array(repeating: -.infinity, count: 6))
        ly.backward(seed: Tensor(shape: [3, 6], data: cot))
        let lg = xl.grad?.toArray() ?? []
        for r in [0, 2] {
            let pr = Array(ref[(r * 6)..<(r * 6 + 6)]), cr = cot[(r * 6)..<(r * 6 + 6)].map(Double.init)
            let s = cr.reduce(0, +)
            for j in 0..<6 { XCTAssertEqual(Double(lg[r * 6 + j]), cr[j] - pr[j] * s, accuracy: 1e-6) }
        }
        XCTAssertEqual(Array(lg[6..<12]), Array(repeating: 0, count: 6), "fully masked row has zero gradient")
    }

    func testWideRowsRunInParallelAndMatchReference() {
        // 64 × 1000 crosses the parallel threshold; compare forward and the analytic Double gradient.
        let x = OpCheck.random([64, 1000], seed: 77, scale: 4)
        let xd = x.toArray().map(Double.init)
        let y = softmax(x).toArray(), ref = Self.softmaxRows(xd, width: 1000)
        // Float rounding of (x − max) alone is up to |x − max|·6e-8 relative, ~1e-6 for these spreads.
        XCTAssertLessThan(worstDifference(y, ref), 1e-6)
        let ly = logSoftmax(x).toArray(), lref = Self.logSoftmaxRows(xd, width: 1000)
        XCTAssertLessThan(worstDifference(ly, lref, relativeToOne), 1e-6)
    }

    func testVectorExpMatchesDoubleExpEverywhere() {
        var worst = 0.0
        var xs: [Float] = []
        var x: Float = -104
        while x < 88.72 { xs.append(x); x += 0.013 }
        xs += [0, -0.0, 1e-30, -1e-30, 88.722, -87.33, -103.9, 1e-7]
        var i = 0
        while i < xs.count {
            var v = VectorMath.V(repeating: 0)
            let k = min(16, xs.count - i)
            for j in 0..<k { v[j] = xs[i + j] }
            let e = VectorMath.exp(v)
            for j in 0..<k {
                let ref = Foundation.exp(Double(xs[i + j]))
                if ref < Double(Float.leastNormalMagnitude) {
                    XCTAssertLessThanOrEqual(abs(Double(e[j]) - ref), 2 * Double(Float.leastNonzeroMagnitude), "exp(\(xs[i + j]))")
                } else {
                    worst = max(worst, abs(Double(e[j]) - ref) / ref)
                }
            }
            i += k
        }
        XCTAssertLessThan(worst, 3e-7, "relative error of the SIMD exp")
        var special = VectorMath.V(repeating: 0)
        special[0] = -.infinity; special[1] = .infinity; special[2] = .nan; special[3] = 200; special[4] = -200; special[6] = 88.73
        let e = VectorMath.exp(special)
        XCTAssertEqual(e[0], 0)
        XCTAssertEqual(e[1], .infinity)
        XCTAssertTrue(e[2].isNaN)
        XCTAssertEqual(e[3], .infinity)
        XCTAssertEqual(e[4], 0)
        XCTAssertEqual(e[5], 1)
        XCTAssertEqual(e[6], .infinity, "exp(88.73) exceeds Float.greatestFiniteMagnitude")

        // The x ≤ 0 variant used after the max shift: same accuracy, flushes below the normal range.
        var worstNP = 0.0
        for start in stride(from: 0, to: xs.count, by: 16) {
            var v = VectorMath.V(repeating: 0)
            let k = min(16, xs.count - start)
            for j in 0..<k { v[j] = min(xs[start + j], 0) }
            let e = VectorMath.expNonPositive(v)
            for j in 0..<k {
                let ref = Foundation.exp(Double(v[j]))
                if ref < Double(Float.leastNormalMagnitude) {
                    XCTAssertLessThanOrEqual(Double(e[j]), Double(Float.leastNormalMagnitude), "expNonPositive(\(v[j]))")
                } else {
                    worstNP = max(worstNP, abs(Double(e[j]) - ref) / ref)
                }
            }
        }
        XCTAssertLessThan(worstNP, 3e-7, "relative error of the x ≤ 0 SIMD exp")
        let np = VectorMath.expNonPositive(special)
        XCTAssertEqual(np[0], 0)
        XCTAssertTrue(np[2].isNaN)
        XCTAssertEqual(np[4], 0)
        XCTAssertEqual(np[5], 1)
    }
}
