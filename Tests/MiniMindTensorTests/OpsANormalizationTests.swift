import XCTest
import TestSupport
@testable import MiniMindTensor

/// RMSNorm and LayerNorm over the last axis against naive Double references.
final class OpsANormalizationTests: XCTestCase {
    let check = OpCheck()

    static func rmsNormRef(_ x: [Double], _ w: [Double]?, width d: Int, eps: Double) -> [Double] {
        stride(from: 0, to: x.count, by: d).flatMap { s -> [Double] in
            let row = x[s..<(s + d)]
            let r = 1 / (row.map { $0 * $0 }.reduce(0, +) / Double(d) + eps).squareRoot()
            return row.enumerated().map { j, v in v * r * (w?[j] ?? 1) }
        }
    }

    static func layerNormRef(_ x: [Double], _ w: [Double]?, _ b: [Double]?, width d: Int, eps: Double) -> [Double] {
        stride(from: 0, to: x.count, by: d).flatMap { s -> [Double] in
            let row = x[s..<(s + d)]
            let mean = row.reduce(0, +) / Double(d)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(d)
            let r = 1 / (variance + eps).squareRoot()
            return row.enumerated().map { j, v in (v - mean) * r * (w?[j] ?? 1) + (b?[j] ?? 0) }
        }
    }

    func testRMSNormWithAndWithoutWeight() {
        for d in [8, 16, 37] {
            let x = OpCheck.random([2, 3, d], seed: UInt64(d)), w = OpCheck.random([d], seed: 100 + UInt64(d), scale: 0.5) + 1
            check.run("rmsNorm+w D=\(d)", inputs: [x, w], op: { rmsNorm($0[0], weight: $0[1], eps: 1e-5) }) { p in
                Self.rmsNormRef(p[0], p[1], width: d, eps: 1e-5)
            }
            check.run("rmsNorm D=\(d)", inputs: [x], op: { rmsNorm($0[0], weight: nil, eps: 1e-6) }) { p in
                Self.rmsNormRef(p[0], nil, width: d, eps: 1e-6)
            }
            check.run("rmsNorm frozen w D=\(d)", inputs: [x, w], differentiable: [true, false],
                      op: { rmsNorm($0[0], weight: $0[1], eps: 1e-5) }) { p in Self.rmsNormRef(p[0], p[1], width: d, eps: 1e-5) }
        }
    }

    func testLayerNormAllAffineCombinations() {
        for d in [8, 21] {
            let x = OpCheck.random([4, d], seed: UInt64(d), scale: 2) + 0.7
            let w = OpCheck.random([d], seed: 200, scale: 0.5) + 1, b = OpCheck.random([d], seed: 201)
            check.run("layerNorm w+b D=\(d)", inputs: [x, w, b], op: { layerNorm($0[0], weight: $0[1], bias: $0[2], eps: 1e-5) }) { p in
                Self.layerNormRef(p[0], p[1], p[2], width: d, eps: 1e-5)
            }
            check.run("layerNorm w D=\(d)", inputs: [x, w], op: { layerNorm($0[0], weight: $0[1], bias: nil, eps: 1e-6) }) { p in
                Self.layerNormRef(p[0], p[1], nil, width: d, eps: 1e-6)
            }
            check.run("layerNorm b D=\(d)", inputs: [x, b], op: { layerNorm($0[0], weight: nil, bias: $0[1], eps: 1e-5) }) { p in
                Self.layerNormRef(p[0], nil, p[1], width: d, eps: 1e-5)
            }
            check.run("layerNorm plain D=\(d)", inputs: [x], op: { layerNorm($0[0], weight: nil, bias: nil, eps: 1e-5) }) { p in
                Self.layerNormRef(p[0], nil, nil, width: d, eps: 1e-5)
            }
        }
    }

    func testLayerNormLargeOffsetAndConstantRows() {
        // A common offset of 1e4 over unit noise: two-pass statistics keep the variance exact.
        let d = 64
        let x = OpCheck.random([3, d], seed: 31) + 10_000
        let y = layerNorm(x, weight: nil, bias: nil, eps: 1e-5).toArray()
        let ref = Self.layerNormRef(x.toArray().map(Double.init), nil, nil, width: d, eps: 1e-5)
        XCTAssertLessThan(worstDifference(y, ref), 2e-3,
                          "Float input rounding at 1e4 (ulp 1e-3) bounds the error, not the algorithm")
        // Constant rows: variance 0 → output = bias, finite.
        let c = Tensor.full([2, 5], value: 3e5)
        XCTAssertEqual(layerNorm(c, weight: nil, bias: Tensor([1, 2, 3, 4, 5]), eps: 1e-5).toArray(), [1, 2, 3, 4, 5, 1, 2, 3, 4, 5])
        XCTAssertEqual(rmsNorm(Tensor.zeros([1, 4]), weight: nil, eps: 1e-6).toArray(), [0, 0, 0, 0])
    }

    func testModelShapesInParallelMatchAnalyticGradients() {
        // 96 × 512 crosses the parallel and multi-block weight-gradient thresholds; gradients are
        // compared with the closed-form Double gradients (finite differences would be too slow here).
        let (n, d) = (96, 512)
        let x = OpCheck.random([n, d], seed: 41, scale: 2), w = OpCheck.random([d], seed: 42) + 1, b = OpCheck.random([d], seed: 43)
        let g = OpCheck.random([n, d], seed: 44)
        let xd = x.toArray().map(Double.init), wd = w.toArray().map(Double.init), gd = g.toArray().map(Double.init)

        let (xr, wr) = (Tensor(shape: [n, d], data: x.toArray(), requiresGrad: true), Tensor(shape: [d], data: w.toArray(), requiresGrad: true))
        let y = rmsNorm(xr, weight: wr, eps: 1e-5)
        let yRef = Self.rmsNormRef(xd, wd, width: d, eps: 1e-5)
        XCTAssertLessThan(worstDifference(y.toArray(), yRef, relativeToOne), 1e-5)
        y.backward(seed: g)
        var dx = [Double](repeating: 0, count: n * d), dw = [Double](repeating: 0, count: d)
        for r in 0..<n {
            let row = Array(xd[(r * d)..<(r * d + d)])
            let s = 1 / (row.map { $0 * $0 }.reduce(0, +) / Double(d) + 1e-5).squareRoot()
            var dot = 0.0
            for j in 0..<d { dot += gd[r * d + j] * wd[j] * row[j] * s; dw[j] += gd[r * d + j] * row[j] * s }
            for j in 0..<d { dx[r * d + j] = s * (gd[r * d + j] * wd[j] - row[j] * s * dot / Double(d)) }
        }
        assertClose(xr.grad, dx, "rmsNorm dx")
        assertClose(wr.grad, dw, "rmsNorm dw")

        let (xl, wl, bl) = (Tensor(shape: [n, d], data: x.toArray(), requiresGrad: true),
                            Tensor(shape: [d], data: w.toArray(), requiresGrad: true), Tensor(shape: [d], data: b.toArray(), requiresGrad: true))
        let yl = layerNorm(xl, weight: wl, bias: bl, eps: 1e-5)
        let ylRef = Self.layerNormRef(xd, wd, b.toArray().map(Double.init), width: d, eps: 1e-5)
        XCTAssertLessThan(worstDifference(yl.toArray(), ylRef, relativeToOne), 1e-5)
        yl.backward(seed: g)
        var ldx = [Double](repeating: 0, count: n * d), ldw = [Double](repeating: 0, count: d), ldb = [Double](repeating: 0, count: d)
        for r in 0..<n {
            let row = Array(xd[(r * d)..<(r * d + d)])
            let mean = row.reduce(0, +) / Double(d)
            let s = 1 / (row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(d) + 1e-5).squareRoot()
            let xhat = row.map { ($0 - mean) * s }
            let dxhat = (0..<d).map { gd[r * d + $0] * wd[$0] }
            let m1 = dxhat.reduce(0, +) / Double(d), m2 = zip(dxhat, xhat).map { $0 * $1 }.reduce(0, +) / Double(d)
            for j in 0..<d {
                ldx[r * d + j] = s * (dxhat[j] - m1 - xhat[j] * m2)
                ldw[j] += gd[r * d + j] * xhat[j]
                ldb[j] += gd[r * d + j]
            }
        }
        assertClose(xl.grad, ldx, "layerNorm dx")
        assertClose(wl.grad, ldw, "layerNorm dw")
        assertClose(bl.grad, ldb, "layerNorm db")
    }

    func assertClose(_ t: Tensor?, _ ref: [Double], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let t else { XCTFail("\(what): missing gradient", file: file, line: line); return }
        let err = worstDifference(t.toArray(), ref) { abs($0 - $1) - 1e-3 * abs($1) }
        XCTAssertLessThan(err, 1e-4, what, file: file, line: line)
    }
}
