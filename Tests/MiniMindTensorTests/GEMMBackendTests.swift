import Foundation
import XCTest
@testable import MiniMindTensor

/// The oneDNN backend against a float64 product: float32 within summation tolerance, bfloat16
/// within the same tolerance of the product of the bf16-rounded inputs (so only the rounding of
/// the inputs differs from float32), and the fallback to float32 where bf16 cannot run.
final class GEMMBackendTests: XCTestCase {
    struct Case { let m, n, k: Int; let transA, transB: Bool }
    let cases = [Case(m: 96, n: 80, k: 160, transA: false, transB: true),
                 Case(m: 70, n: 140, k: 130, transA: true, transB: false),
                 Case(m: 33, n: 64, k: 256, transA: false, transB: false)]

    private func inputs(_ c: Case, seed: UInt64) -> ([Float], [Float], [Float]) {
        var rng = SeededGenerator(seed: seed)
        let a = (0..<(c.m * c.k)).map { _ in rng.nextUniform() * 2 - 1 }
        let b = (0..<(c.k * c.n)).map { _ in rng.nextUniform() * 2 - 1 }
        let c0 = (0..<(c.m * c.n)).map { _ in rng.nextUniform() * 2 - 1 }
        return (a, b, c0)
    }

    /// C = beta·C0 + op(A)·op(B) in float64, and Σ|terms| for the tolerance.
    private func reference(_ c: Case, _ a: [Float], _ b: [Float], _ c0: [Float], beta: Double,
                           round: (Float) -> Float = { $0 }) -> ([Double], [Double]) {
        var out = [Double](repeating: 0, count: c.m * c.n), mag = out
        for i in 0..<c.m { for j in 0..<c.n {
            var s = beta * Double(c0[i * c.n + j]), t = abs(s)
            for p in 0..<c.k {
                let x = Double(round(c.transA ? a[p * c.m + i] : a[i * c.k + p])) * Double(round(c.transB ? b[j * c.k + p] : b[p * c.n + j]))
                s += x; t += abs(x)
            }
            out[i * c.n + j] = s; mag[i * c.n + j] = t
        } }
        return (out, mag)
    }

    private func check(_ got: [Float], _ want: ([Double], [Double]), k: Int, _ label: String) {
        for i in got.indices {
            let tolerance = Double(k + 1) * Double(Float.ulpOfOne) * want.1[i]
            if abs(Double(got[i]) - want.0[i]) > tolerance {
                XCTFail("\(label) element \(i): \(got[i]) vs \(want.0[i]) (tolerance \(tolerance))"); return
            }
        }
    }

    func testOneDNNFloat32MatchesFloat64() throws {
        guard OneDNN.isAvailable else { throw XCTSkip("oneDNN is not linked (not Linux) or MINIMIND_GEMM=openblas") }
        for (index, c) in cases.enumerated() {
            let (a, b, c0) = inputs(c, seed: UInt64(index))
            for beta: Float in [0, 1] {
                let key = OneDNN.Key(m: c.m, n: c.n, k: c.k, transA: c.transA, transB: c.transB,
                                     lda: c.transA ? c.m : c.k, ldb: c.transB ? c.k : c.n, ldc: c.n, bf16: false, accumulate: beta == 1)
                let plan = try XCTUnwrap(OneDNN.plan(key))
                var out = c0
                XCTAssertTrue(OneDNN.run(plan, a: a, b: b, c: &out))
                check(out, reference(c, a, b, c0, beta: Double(beta)), k: c.k, "f32 \(c) beta \(beta)")
            }
        }
    }

    /// The float32 rule: forward-shaped x·Wᵀ blocks above SkinnyGEMM.maxRows, up to 512 rows, on oneDNN, everything else on
    /// OpenBLAS (GEMV, SkinnyGEMM, the backward's transposed products, 1,280-row blocks) — on AMD CPUs
    /// every product above SkinnyGEMM.maxRows on oneDNN; and `BLAS.gemm` through it equals the float64
    /// product at a shape each side of the rule.
    func testFloat32RouteFollowsTheMeasuredRule() {
        func route(_ m: Int, transA: Bool = false, transB: Bool = true) -> Bool {
            GEMMRoute.usesOneDNNFloat32(m: m, n: 512, k: 512, transA: transA, transB: transB, alpha: 1, beta: 0)
        }
        if GEMMRoute.mode == .auto && OneDNN.isAvailable {
            XCTAssertTrue(route(SkinnyGEMM.maxRows + 1)); XCTAssertTrue(route(197)); XCTAssertTrue(route(512))
        }
        XCTAssertFalse(route(1)); XCTAssertFalse(route(8)); XCTAssertFalse(route(SkinnyGEMM.maxRows))
        if GEMMRoute.mode == .auto && OneDNN.isAvailable && GEMMRoute.float32AllShapes {
            XCTAssertTrue(route(1280)); XCTAssertTrue(route(64, transA: true, transB: false)); XCTAssertTrue(route(64, transB: false))
            XCTAssertFalse(route(SkinnyGEMM.maxRows, transB: false), "SkinnyGEMM's rows stay off oneDNN in every shape")
        } else if GEMMRoute.mode != .onednn {
            XCTAssertFalse(route(1280)); XCTAssertFalse(route(64, transA: true, transB: false)); XCTAssertFalse(route(64, transB: false))
        }
        XCTAssertFalse(GEMMRoute.usesOneDNNFloat32(m: 64, n: 64, k: 64, transA: false, transB: true, alpha: 0.5, beta: 0))
        let routed = [Case(m: 40, n: 72, k: 150, transA: false, transB: true), Case(m: 600, n: 24, k: 40, transA: false, transB: true),
                      Case(m: 48, n: 40, k: 70, transA: true, transB: false), Case(m: 1300, n: 20, k: 30, transA: false, transB: false)]
        for (index, c) in routed.enumerated() {
            let (a, b, c0) = inputs(c, seed: 20 + UInt64(index))
            for beta: Float in [0, 1] {
                var out = c0
                BLAS.gemm(transA: c.transA, transB: c.transB, m: c.m, n: c.n, k: c.k, a: a, b: b, beta: beta, c: &out)
                check(out, reference(c, a, b, c0, beta: Double(beta)), k: c.k, "routed f32 \(c) beta \(beta)")
            }
        }
    }

    func testBF16ProductIsTheProductOfRoundedInputs() {
        for (index, c) in cases.enumerated() {
            let (a, b, c0) = inputs(c, seed: 10 + UInt64(index))
            for beta: Float in [0, 1] {
                var out = c0
                Compute.withPrecision(.bf16) {
                    BLAS.gemm(transA: c.transA, transB: c.transB, m: c.m, n: c.n, k: c.k, a: a, b: b, beta: beta, c: &out)
                }
                // Where bf16 cannot run, the same call must give the float32 product instead.
                let round: (Float) -> Float = Compute.bf16Available ? { BFloat16Bits.float(BFloat16Bits.round($0)) } : { $0 }
                check(out, reference(c, a, b, c0, beta: Double(beta), round: round), k: c.k, "bf16 \(c) beta \(beta)")
            }
        }
        XCTAssertEqual(Compute.precision, .f32, "withPrecision restores the setting")
    }

    func testFallbackIsReported() {
        XCTAssertEqual(Compute.bf16Available, Compute.bf16Unavailability.isEmpty)
        XCTAssertEqual(Compute.bf16Available, CPUFeatures.current.bf16Compute && OneDNN.isAvailable)
        Compute.withPrecision(.bf16) {
            XCTAssertEqual(Compute.effectivePrecision, Compute.bf16Available ? .bf16 : .f32)
        }
    }
}
