import Foundation
import XCTest
@testable import MiniMindTensor

/// bf16 products that read a registered weight from its oneDNN-packed copy (`BFloat16WeightCache`,
/// `OneDNN.PackedB`) against OpenBLAS's float32 product of the same bf16-rounded inputs: the forward
/// x·Wᵀ and the backward dy·W of one square weight (two layouts of the same values), row blocks of
/// different heights sharing one pack, and a weight changed and stored again (never a stale pack).
final class PackedWeightTests: XCTestCase {
    // 197 rows: the two threads' blocks are 96 and 101 rows, two plans reading one pack.
    let rows = 197, size = 192

    func random(_ count: Int, _ g: inout SeededGenerator) -> [Float] { (0..<count).map { _ in g.nextUniform() * 2 - 1 } }
    /// The inputs as the products read them: bf16-rounded where bf16 runs, else unchanged.
    func rounded(_ x: [Float]) -> [Float] { Compute.bf16Available ? x.map { BFloat16Bits.float(BFloat16Bits.round($0)) } : x }

    /// OpenBLAS's float32 op(A)·op(B) (A [m,k], B [n,k] when transB else [k,n]), and Σ|terms| in float64.
    func openBLAS(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int, transB: Bool) -> ([Float], [Double]) {
        var out = [Float](repeating: 0, count: m * n)
        BLAS.rawSgemm(transA: false, transB: transB, m: m, n: n, k: k, a: a, b: b, c: &out)
        var mag = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n {
            var t = 0.0
            for p in 0..<k { t += abs(Double(a[i * k + p]) * Double(transB ? b[j * k + p] : b[p * n + j])) }
            mag[i * n + j] = t
        } }
        return (out, mag)
    }

    /// Both sides sum the same float32 terms (the inputs are exact in bf16): only summation order differs.
    func check(_ got: [Float], _ want: ([Float], [Double]), k: Int, _ label: String) {
        let tolerance = 2 * Double(k + 1) * Double(Float.ulpOfOne)
        for i in got.indices where abs(Double(got[i]) - Double(want.0[i])) > tolerance * want.1[i] {
            return XCTFail("\(label)[\(i)]: \(got[i]) vs OpenBLAS \(want.0[i]) (Σ|terms| \(want.1[i]))")
        }
    }

    func product(_ x: [Float], _ w: Tensor, transB: Bool) -> [Float] {
        var out = [Float](repeating: 0, count: rows * size)
        BLAS.gemm(transB: transB, m: rows, n: size, k: size, a: x, b: w.pointer, c: &out)
        return out
    }

    func testPackedWeightProductsMatchOpenBLASAndFollowUpdates() throws {
        // Without AVX512-BF16/AMX or oneDNN the products run float32 and nothing is packed.
        let packs = Compute.bf16Available ? 2 : 0
        var gen = SeededGenerator(seed: 21)
        let x = random(rows * size, &gen)
        let w = Tensor(shape: [size, size], data: random(size * size, &gen))
        defer { BFloat16WeightCache.removeAll() }
        try Compute.withPrecision(.bf16) {
            let plainForward = product(x, w, transB: true), plainBackward = product(x, w, transB: false)
            BFloat16WeightCache.store([w])
            let entry = try XCTUnwrap(BFloat16WeightCache.entry(w.pointer, count: w.count))
            for round in 0..<2 {
                let forward = product(x, w, transB: true), backward = product(x, w, transB: false)
                XCTAssertEqual(entry.packCount, packs, "one pack each for x·Wᵀ and dy·W, made once (round \(round))")
                let (xr, wr) = (rounded(x), rounded(w.toArray()))
                check(forward, openBLAS(xr, wr, m: rows, n: size, k: size, transB: true), k: size, "x·Wᵀ packed")
                check(backward, openBLAS(xr, wr, m: rows, n: size, k: size, transB: false), k: size, "dy·W packed")
                check(forward, (plainForward, openBLAS(xr, wr, m: rows, n: size, k: size, transB: true).1), k: size, "x·Wᵀ packed vs plain")
                check(backward, (plainBackward, openBLAS(xr, wr, m: rows, n: size, k: size, transB: false).1), k: size, "dy·W packed vs plain")
            }
            // An optimizer step changes the weight; storing it again must drop the packs of the old values.
            for i in 0..<w.count { w.mutablePointer[i] = w.mutablePointer[i] * -0.5 + 0.01 }
            BFloat16WeightCache.store([w])
            let forward = product(x, w, transB: true), backward = product(x, w, transB: false)
            let (xr, wr) = (rounded(x), rounded(w.toArray()))
            check(forward, openBLAS(xr, wr, m: rows, n: size, k: size, transB: true), k: size, "x·Wᵀ after the update")
            check(backward, openBLAS(xr, wr, m: rows, n: size, k: size, transB: false), k: size, "dy·W after the update")
            XCTAssertEqual(try XCTUnwrap(BFloat16WeightCache.entry(w.pointer, count: w.count)).packCount, packs)
            XCTAssertEqual(entry.packCount, packs, "the replaced entry is no longer read")
        }
    }

}
