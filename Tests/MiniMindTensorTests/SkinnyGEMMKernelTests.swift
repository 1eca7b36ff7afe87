import Foundation
import XCTest
@testable import MiniMindTensor

/// `SkinnyGEMM` (1–16 rows of A against row-major weights, decode): the C AVX-512 kernel where the CPU
/// has it, with four and with one weight row per pass, and the portable Swift kernel, which runs on
/// every other CPU, all against a float64 product — each is called directly, so this machine tests
/// them whichever one `BLAS.gemm` picks.
final class SkinnyGEMMKernelTests: XCTestCase {
    func testBothKernelsMatchAFloat64Product() {
        var g = SeededGenerator(seed: 31)
        var kernels: [(DecodeKernel, rowsPerPass: Int)] = [(.portable, 4)]
        if DecodeKernel.current == .avx512 { kernels += [(.avx512, 4), (.avx512, 1)] }
        for (m, n, k) in [(1, 45, 512), (2, 33, 17), (5, 402, 131), (8, 130, 200), (7, 301, 97), (3, 64, 768), (16, 70, 150), (13, 37, 64)] {
            for (alpha, beta) in [(Float(1), Float(0)), (0.5, 1), (2, -0.25)] {
                let a = (0..<m * k).map { _ in g.nextUniform() * 2 - 1 }
                let b = (0..<n * k).map { _ in g.nextUniform() * 2 - 1 }
                let c0 = (0..<m * n).map { _ in g.nextUniform() * 2 - 1 }
                for (kernel, rowsPerPass) in kernels {
                    var c = c0
                    a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                        SkinnyGEMM.run(m: m, n: n, k: k, alpha: alpha, a: ap.baseAddress!, lda: k, b: bp.baseAddress!, ldb: k,
                                       beta: beta, c: cp.baseAddress!, ldc: n, kernel: kernel, rowsPerPass: rowsPerPass)
                    } } }
                    for i in 0..<m { for j in 0..<n {
                        var dot = 0.0, mag = 0.0
                        for p in 0..<k { dot += Double(a[i * k + p]) * Double(b[j * k + p]); mag += abs(Double(a[i * k + p]) * Double(b[j * k + p])) }
                        let want = Double(alpha) * dot + Double(beta) * Double(c0[i * n + j])
                        let bound = Double(k + 2) * Double(Float.ulpOfOne) * (abs(Double(alpha)) * mag + abs(Double(beta) * Double(c0[i * n + j])))
                        XCTAssertLessThanOrEqual(abs(Double(c[i * n + j]) - want), bound, "\(kernel)/\(rowsPerPass) \(m)×\(n)×\(k) α \(alpha) β \(beta) [\(i),\(j)]")
                    } }
                }
            }
        }
    }

    /// The C kernel's sums do not depend on how many weight rows it reads per pass (each row's
    /// accumulators and horizontal adds are its own): one and four give the same bits, for 1–16 rows.
    func testOneWeightRowPerPassEqualsFourBitForBit() throws {
        try XCTSkipUnless(DecodeKernel.current == .avx512, "the C kernel needs AVX-512 F/BW/DQ/VL")
        var g = SeededGenerator(seed: 7)
        for (m, n, k) in [(1, 45, 512), (1, 6, 33), (3, 130, 200), (8, 37, 64), (16, 9, 150)] {
            let a = (0..<m * k).map { _ in g.nextUniform() * 2 - 1 }
            let b = (0..<n * k).map { _ in g.nextUniform() * 2 - 1 }
            let c0 = (0..<m * n).map { _ in g.nextUniform() * 2 - 1 }
            var outputs: [[Float]] = []
            for rowsPerPass in [1, 4] {
                var c = c0
                a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                    SkinnyGEMM.run(m: m, n: n, k: k, alpha: 0.5, a: ap.baseAddress!, lda: k, b: bp.baseAddress!, ldb: k,
                                   beta: 1, c: cp.baseAddress!, ldc: n, kernel: .avx512, rowsPerPass: rowsPerPass)
                } } }
                outputs.append(c)
            }
            XCTAssertEqual(outputs[0].map(\.bitPattern), outputs[1].map(\.bitPattern), "\(m)×\(n)×\(k)")
        }
    }
}
