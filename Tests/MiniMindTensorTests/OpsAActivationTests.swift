import XCTest
import TestSupport
@testable import MiniMindTensor

/// SiLU, GELU (erf and tanh), quick-GELU and fused SwiGLU against naive Double references.
final class OpsAActivationTests: XCTestCase {
    let check = OpCheck()

    static func sigmoid(_ x: Double) -> Double { 1 / (1 + Foundation.exp(-x)) }
    static func silu(_ x: Double) -> Double { x * sigmoid(x) }
    static func gelu(_ x: Double) -> Double { 0.5 * x * (1 + Foundation.erf(x / 2.0.squareRoot())) }
    /// PyTorch's approximate='tanh' formula, verbatim.
    static func geluTanh(_ x: Double) -> Double {
        0.5 * x * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
    }
    static func quickGelu(_ x: Double) -> Double { x * sigmoid(1.702 * x) }

    static let cases: [(String, (Tensor) -> Tensor, (Double) -> Double)] = [
        ("silu", MiniMindTensor.silu, silu), ("gelu", MiniMindTensor.gelu, gelu),
        ("geluTanh", MiniMindTensor.geluTanh, geluTanh), ("quickGelu", MiniMindTensor.quickGelu, quickGelu),
    ]

    func testForwardAndBackwardAgainstDouble() {
        // 37 elements: two SIMD blocks and a padded tail; scale 3 reaches the saturating regions.
        let x = OpCheck.random([37], seed: 3, scale: 3)
        for (name, op, ref) in Self.cases {
            check.run(name, inputs: [x], op: { op($0[0]) }) { p in p[0].map(ref) }
        }
    }

    func testLargeTensorsRunInParallel() {
        let x = OpCheck.random([70_001], seed: 5, scale: 4)
        let xd = x.toArray().map(Double.init)
        for (name, op, ref) in Self.cases {
            let y = op(x).toArray()
            let err = worstDifference(y, xd.map(ref), relativeToOne)
            XCTAssertLessThan(err, 1e-6, name)
        }
    }

    func testExtremeInputsSaturateWithoutNaN() {
        let values: [Float] = [-1e30, -1e4, -100, -90, -30, -10, 0, 10, 30, 90, 100, 1e4, 1e30]
        for (name, op, ref) in Self.cases {
            let x = Tensor(shape: [values.count], data: values, requiresGrad: true)
            let y = op(x)
            y.sum().backward()
            let g = x.grad?.toArray() ?? []
            for (i, v) in values.enumerated() {
                let yv = y.toArray()[i]
                XCTAssertFalse(yv.isNaN || g[i].isNaN, "\(name)(\(v)) = \(yv), derivative \(g[i])")
                // Exact limits: x for large positive x, 0 for large negative x; derivative 1 and 0.
                if abs(v) >= 90 {
                    XCTAssertEqual(yv, v > 0 ? v : 0, "\(name)(\(v))")
                    XCTAssertEqual(g[i], v > 0 ? 1 : 0, "\(name)'(\(v))")
                } else {
                    XCTAssertEqual(Double(yv), ref(Double(v)), accuracy: 1e-5 * max(1, abs(Double(v))), "\(name)(\(v))")
                }
            }
        }
    }

    func testSwiGLUFusedMatchesReferenceAndSkipsFrozenInputs() {
        let gate = OpCheck.random([3, 21], seed: 7, scale: 2), up = OpCheck.random([3, 21], seed: 8)
        check.run("swiglu", inputs: [gate, up], op: { swiglu(gate: $0[0], up: $0[1]) }) { p in
            zip(p[0], p[1]).map { Self.silu($0) * $1 }
        }
        check.run("swiglu frozen up", inputs: [gate, up], differentiable: [true, false], op: { swiglu(gate: $0[0], up: $0[1]) }) { p in
            zip(p[0], p[1]).map { Self.silu($0) * $1 }
        }
        let g = Tensor(shape: [2], data: [1, -1]), u = Tensor(shape: [2], data: [1, 2], requiresGrad: true)
        swiglu(gate: g, up: u).sum().backward()
        XCTAssertNil(g.grad)
        XCTAssertNotNil(u.grad)
        // Extreme gates: silu saturates, no NaN in either gradient.
        let eg = Tensor(shape: [4], data: [-1e30, -100, 100, 1e30], requiresGrad: true), eu = Tensor(shape: [4], data: [2, 2, 2, 2], requiresGrad: true)
        let y = swiglu(gate: eg, up: eu)
        XCTAssertEqual(y.toArray(), [0, 0, 200, 2e30])
        y.sum().backward()
        XCTAssertEqual(eg.grad?.toArray(), [0, 0, 2, 2])
        XCTAssertEqual(eu.grad?.toArray(), [0, 0, 100, 1e30])
    }
}
