import XCTest
import TestSupport
@testable import MiniMindTensor

/// Checks one differentiable op against a naive Double reference of the same math:
/// the forward output, and the backward pass against central finite differences of the reference.
/// Tolerances are listed in Docs/Parity.md.
struct OpCheck {
    var forwardTolerance: Double = 1e-5
    var gradientAbsTolerance: Double = 1e-4
    var gradientRelTolerance: Double = 1e-3
    var step: Double = 1e-6

    /// `inputs`: op inputs; `differentiable[i]` says which get gradients checked.
    /// `op`: the Tensor implementation. `reference`: the same function on Double arrays (flat, row-major).
    func run(_ name: String, inputs: [Tensor], differentiable: [Bool]? = nil,
             op: ([Tensor]) -> Tensor, reference: ([[Double]]) -> [Double],
             file: StaticString = #filePath, line: UInt = #line) {
        let diff = differentiable ?? Array(repeating: true, count: inputs.count)
        let leaves = inputs.enumerated().map { i, t in
            Tensor(shape: t.shape, data: t.toArray(), requiresGrad: diff[i])
        }
        let doubles = inputs.map { $0.toArray().map(Double.init) }
        let out = op(leaves)
        let expected = reference(doubles)
        XCTAssertEqual(out.count, expected.count, "\(name): output size", file: file, line: line)
        guard out.count == expected.count else { return }
        let fwdErr = worstDifference(out.toArray(), expected, relativeToOne)
        XCTAssertLessThanOrEqual(fwdErr, forwardTolerance, "\(name): forward error", file: file, line: line)

        guard diff.contains(true) else { return }
        var rng = SeededGenerator(seed: 7)
        let cot = (0..<out.count).map { _ in Double(rng.nextNormal()) }
        (out * Tensor(shape: out.shape, data: cot.map(Float.init))).sum().backward()
        for (i, leaf) in leaves.enumerated() where diff[i] {
            guard let g = leaf.grad else { XCTFail("\(name): no gradient for input \(i)", file: file, line: line); continue }
            var worst = 0.0, worstAt = 0, worstPair = (0.0, 0.0)
            for j in 0..<leaf.count {
                var plus = doubles, minus = doubles
                plus[i][j] += step
                minus[i][j] -= step
                let fp = zip(reference(plus), cot).reduce(0) { $0 + $1.0 * $1.1 }
                let fm = zip(reference(minus), cot).reduce(0) { $0 + $1.0 * $1.1 }
                let numeric = (fp - fm) / (2 * step)
                let analytic = Double(g.pointer[j])
                let excess = abs(analytic - numeric) - (gradientAbsTolerance + gradientRelTolerance * abs(numeric))
                // `!(excess <= worst)` also catches a NaN gradient (which `excess > worst` skips).
                if !(excess <= worst) { worst = excess.isNaN ? .infinity : excess; worstAt = j; worstPair = (analytic, numeric) }
            }
            XCTAssertEqual(worst, 0, "\(name): gradient of input \(i) at element \(worstAt): analytic \(worstPair.0) vs numeric \(worstPair.1)",
                           file: file, line: line)
        }
    }

    static func random(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
        var g = SeededGenerator(seed: seed)
        return Tensor.randn(shape, std: scale, generator: &g)
    }
}

/// Naive Double reference helpers shared by op tests.
enum Ref {
    static func matmul(_ a: [Double], _ b: [Double], m: Int, k: Int, n: Int) -> [Double] {
        var c = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n { var s = 0.0; for p in 0..<k { s += a[i * k + p] * b[p * n + j] }; c[i * n + j] = s } }
        return c
    }

    static func transpose(_ a: [Double], rows: Int, cols: Int) -> [Double] {
        var t = [Double](repeating: 0, count: rows * cols)
        for i in 0..<rows { for j in 0..<cols { t[j * rows + i] = a[i * cols + j] } }
        return t
    }
}
