import Foundation
import XCTest
@testable import MiniMindTensor

/// bf16 mixed precision at the op level (Docs/Distributed.md, "bf16 mixed precision"): the Linear
/// forward and both backward products in bf16 against the same products in float32, and the
/// once-per-step weight copies of `BFloat16WeightCache`.
final class BFloat16TrainingOpsTests: XCTestCase {
    // Every dimension ≥ 128, so all three products are large enough for bf16 (`GEMMRoute.usesBF16`).
    let rows = 144, inF = 256, outF = 160

    func random(_ count: Int, _ g: inout SeededGenerator) -> [Float] { (0..<count).map { _ in g.nextUniform() * 2 - 1 } }

    /// y = x·Wᵀ, dx = g·W, dW = gᵀ·x for the same inputs at `precision`.
    func linearStep(_ x: [Float], _ w: [Float], _ g: [Float], _ precision: ComputePrecision) -> (y: [Float], dx: [Float], dw: [Float]) {
        Compute.withPrecision(precision) {
            let xt = Tensor(shape: [rows, inF], data: x, requiresGrad: true)
            let wt = Tensor(shape: [outF, inF], data: w, requiresGrad: true)
            let y = linear(xt, weight: wt)
            (y * Tensor(shape: [rows, outF], data: g)).sum().backward()
            return (y.toArray(), xt.grad!.toArray(), wt.grad!.toArray())
        }
    }

    /// Σₖ |aᵢₖ·bₖⱼ| for row-major A [m,k] and B [k,n] given as element closures.
    func magnitude(m: Int, n: Int, k: Int, _ a: (Int, Int) -> Float, _ b: (Int, Int) -> Float) -> [Double] {
        var out = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n {
            var t = 0.0
            for p in 0..<k { t += abs(Double(a(i, p)) * Double(b(p, j))) }
            out[i * n + j] = t
        } }
        return out
    }

    /// The bound: each input is rounded to bf16 with relative error ≤ 2⁻⁹, so each term is off by at
    /// most (2·2⁻⁹ + 2⁻¹⁸)·|aᵢₖbₖⱼ|; both results add float32 summation error (K+1)·ε₃₂·Σ|terms|.
    func check(_ bf16: [Float], _ f32: [Float], _ mag: [Double], k: Int, _ label: String) {
        let rounding: Double = 2 * 0x1p-9 + 0x1p-18
        let summation: Double = 2 * Double(k + 1) * Double(Float.ulpOfOne)
        let rel = rounding + summation
        var worst = 0.0
        for i in bf16.indices {
            let err = abs(Double(bf16[i]) - Double(f32[i]))
            worst = max(worst, err / max(mag[i], 1e-30))
            if err > rel * mag[i] { return XCTFail("\(label)[\(i)]: |\(bf16[i]) − \(f32[i])| > \(rel) · \(mag[i])") }
        }
        print("\(label): worst |bf16 − f32| / Σ|terms| = \(worst) (bound \(rel))")
    }

    func testLinearForwardAndBackwardInBF16StayWithinTheRoundingBound() {
        var gen = SeededGenerator(seed: 11)
        let x = random(rows * inF, &gen), w = random(outF * inF, &gen), g = random(rows * outF, &gen)
        let f = linearStep(x, w, g, .f32), b = linearStep(x, w, g, .bf16)
        check(b.y, f.y, magnitude(m: rows, n: outF, k: inF, { x[$0 * self.inF + $1] }, { w[$1 * self.inF + $0] }), k: inF, "y")
        check(b.dx, f.dx, magnitude(m: rows, n: inF, k: outF, { g[$0 * self.outF + $1] }, { w[$0 * self.inF + $1] }), k: outF, "dx")
        check(b.dw, f.dw, magnitude(m: outF, n: inF, k: rows, { g[$1 * self.outF + $0] }, { x[$0 * self.inF + $1] }), k: rows, "dw")
        if Compute.bf16Available {
            // bf16 really ran: rounding the inputs changes results (else the bound above checks nothing).
            XCTAssertNotEqual(b.y, f.y)
            XCTAssertNotEqual(b.dx, f.dx)
            XCTAssertNotEqual(b.dw, f.dw)
        } else {
            XCTAssertEqual(b.y, f.y, "without bf16 units the bf16 setting computes in float32")
        }
    }

    func testWeightCacheGivesTheSameProductsAndFollowsRefresh() {
        var gen = SeededGenerator(seed: 12)
        let x = Tensor(shape: [rows, inF], data: random(rows * inF, &gen))
        let w = Tensor(shape: [outF, inF], data: random(outF * inF, &gen))
        defer { BFloat16WeightCache.removeAll() }
        Compute.withPrecision(.bf16) {
            let rounding = linear(x, weight: w).toArray()
            BFloat16WeightCache.store([w])
            XCTAssertEqual(BFloat16WeightCache.count, 1)
            XCTAssertEqual(linear(x, weight: w).toArray(), rounding, "the cached copy is the same rounding")
            // A changed weight: refreshing the copy gives the product of the new values.
            for i in 0..<w.count { w.mutablePointer[i] *= -0.5 }
            BFloat16WeightCache.store([w])
            let cached = linear(x, weight: w).toArray()
            BFloat16WeightCache.removeAll()
            XCTAssertEqual(BFloat16WeightCache.count, 0)
            XCTAssertEqual(cached, linear(x, weight: w).toArray())
            XCTAssertNotEqual(cached, rounding)
        }
    }

    /// swiglu writes the bf16 copies its neighbouring Linears read (its output; the gate and up
    /// gradients): a feed-forward through it gives the bits of the same chain built from `silu` and
    /// a product, where every Linear rounds its own operands.
    func testSwiGLUCopiesGiveTheBitsOfRoundingInTheLinear() {
        var gen = SeededGenerator(seed: 21)
        let x0 = random(rows * inF, &gen), wg = random(outF * inF, &gen), wu = random(outF * inF, &gen)
        let wd = random(inF * outF, &gen), probe = random(rows * inF, &gen)
        func run(fused: Bool) -> [[Float]] {
            Compute.withPrecision(.bf16) {
                let x = Tensor(shape: [rows, inF], data: x0, requiresGrad: true)
                let ws = [Tensor(shape: [outF, inF], data: wg, requiresGrad: true), Tensor(shape: [outF, inF], data: wu, requiresGrad: true),
                          Tensor(shape: [inF, outF], data: wd, requiresGrad: true)]
                let gate = linear(x, weight: ws[0]), up = linear(x, weight: ws[1])
                let h = fused ? swiglu(gate: gate, up: up) : silu(gate) * up
                if fused && Compute.effectivePrecision == .bf16 {
                    XCTAssertNotNil(h.bfloat16Copy, "swiglu's output carries its rounding")
                }
                let y = linear(h, weight: ws[2])
                (y * Tensor(shape: [rows, inF], data: probe)).sum().backward()
                return [y.toArray(), x.grad!.toArray()] + ws.map { $0.grad!.toArray() }
            }
        }
        let fused = run(fused: true), separate = run(fused: false)
        for (name, (a, b)) in zip(["y", "dx", "dW gate", "dW up", "dW down"], zip(fused, separate)) {
            XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern), name)
        }
    }
}
