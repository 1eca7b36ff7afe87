import Foundation
#if arch(x86_64)
import CDecodeKernels
#endif

/// C[m, n] = alpha·A·Bᵀ + beta·C for a few rows of A against a row-major B [n, k] — a linear layer
/// on the next tokens of a handful of sequences (batched decode). sgemm first packs (copies) its
/// whole block of B, which at m ≤ 8 costs more than the product itself (perf on a batched decode
/// step: 30 % in `sgemm_incopy`, 12 % in the kernel); here each row of B is read once, straight
/// from the weights, for all rows of A. Blocks of 2 rows of B × 4 rows of A keep 8 accumulators
/// in registers and load 6 vectors per 8 multiply–adds. Where the decode kernels are AVX-512
/// (`DecodeKernel.avx512`) the C kernel `mm_skinny_f32_avx512` runs instead: 16 lanes and 4 × 4
/// blocks (this one reached about 50 GFLOP/s per core, so 8 rows cost 3–4× one row's GEMV).
enum SkinnyGEMM {
    /// Rows of A up to which `BLAS.gemm` uses this kernel instead of sgemm or oneDNN (`GEMMRoute`):
    /// 16 with the C kernel — a 16-sequence decode step of minimind2-small-v ran 1.05–1.24× faster
    /// than on oneDNN in 5 of 5 alternating pairs (Docs/Performance.md) — 8 with the Swift one.
    static let maxRows = DecodeKernel.current == .avx512 ? 16 : 8
    /// One row (single-sequence decode) only where the C kernel reads one weight row per pass (AMD):
    /// there it ran float32 one-row decode 1.08–1.24× faster than OpenBLAS's sgemv with two threads
    /// (1.3–1.6× with one; Docs/Performance.md, "One weight row per pass for one-row products");
    /// elsewhere one row stays on sgemv, as measured on the Xeon.
    static let minRows = DecodeKernel.current == .avx512 && DecodeKernel.weightRowsPerPass == 1 ? 1 : 2

    typealias F = SIMD8<Float>

    /// `kernel`: tests run the portable one on an AVX-512 machine too; `rowsPerPass`: the C kernel's
    /// weight rows read together (default `DecodeKernel.weightRowsPerPass(m:)`; the sums are the same
    /// either way).
    static func run(m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
                    b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
                    kernel: DecodeKernel = .current, rowsPerPass: Int? = nil) {
        #if arch(x86_64)
        if kernel == .avx512 {
            mm_skinny_f32_avx512(a, lda, b, ldb, c, ldc, m, n, k, alpha, beta, Int32(rowsPerPass ?? DecodeKernel.weightRowsPerPass(m: m)))
            return
        }
        #endif
        func store(_ i: Int, _ j: Int, _ d: Float) {
            let p = c + i * ldc + j
            p.pointee = beta == 0 ? alpha * d : alpha * d + beta * p.pointee
        }
        var j = 0
        while j + 2 <= n {
            var i = 0
            while i + 4 <= m {
                let d = block4x2(a + i * lda, lda: lda, b + j * ldb, ldb: ldb, k: k)
                for r in 0..<4 { store(i + r, j, d[r]); store(i + r, j + 1, d[4 + r]) }
                i += 4
            }
            while i < m {
                store(i, j, dot(a + i * lda, b + j * ldb, k: k))
                store(i, j + 1, dot(a + i * lda, b + (j + 1) * ldb, k: k))
                i += 1
            }
            j += 2
        }
        if j < n {
            for i in 0..<m { store(i, j, dot(a + i * lda, b + j * ldb, k: k)) }
        }
    }

    /// Dots of A rows 0..<4 with B rows 0 and 1: result lanes 0-3 are B row 0, lanes 4-7 B row 1.
    @inline(__always)
    private static func block4x2(_ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int, k: Int) -> F {
        let a0 = UnsafeRawPointer(a), a1 = UnsafeRawPointer(a + lda), a2 = UnsafeRawPointer(a + 2 * lda), a3 = UnsafeRawPointer(a + 3 * lda)
        let b0 = UnsafeRawPointer(b), b1 = UnsafeRawPointer(b + ldb)
        var s00 = F(), s10 = F(), s20 = F(), s30 = F(), s01 = F(), s11 = F(), s21 = F(), s31 = F()
        var o = 0
        let end = k / 8 * 8 * 4
        while o < end {
            let w0 = b0.loadUnaligned(fromByteOffset: o, as: F.self), w1 = b1.loadUnaligned(fromByteOffset: o, as: F.self)
            let x0 = a0.loadUnaligned(fromByteOffset: o, as: F.self)
            s00.addProduct(x0, w0); s01.addProduct(x0, w1)
            let x1 = a1.loadUnaligned(fromByteOffset: o, as: F.self)
            s10.addProduct(x1, w0); s11.addProduct(x1, w1)
            let x2 = a2.loadUnaligned(fromByteOffset: o, as: F.self)
            s20.addProduct(x2, w0); s21.addProduct(x2, w1)
            let x3 = a3.loadUnaligned(fromByteOffset: o, as: F.self)
            s30.addProduct(x3, w0); s31.addProduct(x3, w1)
            o += 32
        }
        var r = F(s00.sum(), s10.sum(), s20.sum(), s30.sum(), s01.sum(), s11.sum(), s21.sum(), s31.sum())
        for e in (k / 8 * 8)..<k {
            let w0 = b[e], w1 = b[ldb + e]
            for row in 0..<4 {
                let x = a[row * lda + e]
                r[row] += x * w0
                r[4 + row] += x * w1
            }
        }
        return r
    }

    @inline(__always)
    private static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, k: Int) -> Float {
        let ar = UnsafeRawPointer(a), br = UnsafeRawPointer(b)
        var s0 = F(), s1 = F()
        var e = 0
        while e + 16 <= k {
            s0.addProduct(ar.loadUnaligned(fromByteOffset: e * 4, as: F.self), br.loadUnaligned(fromByteOffset: e * 4, as: F.self))
            s1.addProduct(ar.loadUnaligned(fromByteOffset: e * 4 + 32, as: F.self), br.loadUnaligned(fromByteOffset: e * 4 + 32, as: F.self))
            e += 16
        }
        var sum = (s0 + s1).sum()
        while e < k { sum += a[e] * b[e]; e += 1 }
        return sum
    }
}
