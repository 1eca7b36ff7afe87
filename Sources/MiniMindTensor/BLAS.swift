import Foundation
#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif

/// Row-major GEMM over two backends (`GEMMRoute` picks per block): OpenBLAS, the portable baseline,
/// and oneDNN's matmul where it is faster or where `Compute.precision` asks for bfloat16. M == 1
/// goes through OpenBLAS's GEMV, much faster than a one-row GEMM. Both run single-threaded per call
/// (see `Threads`); a large product is cut into one block of rows or columns per thread, each an
/// independent call.
public enum BLAS {
    /// C[M,N] = alpha · op(A) · op(B) + beta · C, all row-major and contiguous.
    /// op(A) is [M,K] (A stored [K,M] when transA); op(B) is [K,N] (B stored [N,K] when transB).
    public static func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                            alpha: Float = 1, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                            beta: Float = 0, c: UnsafeMutablePointer<Float>) {
        gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, b: b, beta: beta, c: c, roundedA: nil, roundedB: nil)
    }

    /// `gemm` given bfloat16 copies of A and/or B made before (`BFloat16Bits.rounded` of the same
    /// values), read when the product runs in bf16 instead of rounding the operand again: a Linear
    /// layer rounds its input once for the forward product and the weight gradient, and the output
    /// gradient once for both backward products.
    static func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                     alpha: Float = 1, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                     beta: Float = 0, c: UnsafeMutablePointer<Float>,
                     roundedA: BFloat16Bits.Buffer?, roundedB: BFloat16Bits.Buffer?, allowBF16: Bool = true) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            if beta == 0 { c.update(repeating: 0, count: m * n) } else { Kernels.scaleInPlace(c, beta, count: m * n) }
            return
        }
        let call = Call(transA: transA, transB: transB, lda: transA ? m : k, ldb: transB ? k : n, ldc: n,
                        k: k, alpha: alpha, beta: beta)
        if allowBF16 && GEMMRoute.usesBF16(m: m, n: n, k: k, alpha: alpha, beta: beta) {
            // Both inputs rounded once for the whole product (or taken from the weight cache, which
            // rounded them once per optimizer step); each part reads its block of them.
            let cachedB = roundedB == nil ? BFloat16WeightCache.entry(b, count: k * n) : nil
            let copyA = roundedA ?? BFloat16WeightCache.entry(a, count: m * k)?.rounded ?? BFloat16Bits.rounded(a, count: m * k)
            let copyB = roundedB ?? cachedB?.rounded ?? BFloat16Bits.rounded(b, count: k * n)
            defer { withExtendedLifetime((copyA, copyB)) {} }
            let a16 = copyA.bits, b16 = copyB.bits
            // By rows: oneDNN's fast (brgemm) kernels need each block's rows of C contiguous.
            let blocks = self.blocks(m: m, n: n, k: k, byRows: true)
            if let weight = cachedB, runPacked(call, blocks: blocks, n: n, weight: weight, a: a, b: b, bf16: (a16, b16), c: c) { return }
            Threads.run(chunks: blocks.count) { p in
                call.run(rows: blocks[p].rows, columns: blocks[p].columns, a: a, b: b, c: c, bf16: (a16, b16))
            }
            return
        }
        if splitParts(m: m, n: n, k: k) <= 1 {  // decode's GEMVs: no block list to allocate
            call.run(rows: 0..<m, columns: 0..<n, a: a, b: b, c: c, bf16: nil)
            return
        }
        let blocks = self.blocks(m: m, n: n, k: k)
        Threads.run(chunks: blocks.count) { p in
            call.run(rows: blocks[p].rows, columns: blocks[p].columns, a: a, b: b, c: c, bf16: nil)
        }
    }

    /// `gemm` in float32 whatever `Compute.precision` says, for products of two activations with a
    /// small side (attention's per-block products, head dimension 64): rounding both operands at
    /// every call costs about what bf16 saves on so little work per rounded value (in a bf16 SFT
    /// step the attention blocks' rounding took 6 % of the time).
    static func gemmFloat32(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                            a: UnsafePointer<Float>, b: UnsafePointer<Float>, beta: Float = 0, c: UnsafeMutablePointer<Float>) {
        gemm(transA: transA, transB: transB, m: m, n: n, k: k, a: a, b: b, beta: beta, c: c, roundedA: nil, roundedB: nil, allowBF16: false)
    }

    /// One float32 product on the calling thread, with explicit leading dimensions (floats between
    /// consecutive rows of each matrix as stored) and routed like one block of `gemm`: attention's
    /// per-head products read and write the rows of [B, T, H, D] tensors, H·D floats apart.
    static func gemmFloat32(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                            a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                            beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            for r in 0..<m {
                if beta == 0 { (c + r * ldc).update(repeating: 0, count: n) } else { Kernels.scaleInPlace(c + r * ldc, beta, count: n) }
            }
            return
        }
        Call(transA: transA, transB: transB, lda: lda, ldb: ldb, ldc: ldc, k: k, alpha: 1, beta: beta)
            .run(rows: 0..<m, columns: 0..<n, a: a, b: b, c: c, bf16: nil)
    }

    /// One product on the calling thread from bfloat16 copies of A and B (`a16`, `b16`: the values of
    /// `a` and `b` rounded by `BFloat16Bits`, each with its own leading dimension), on oneDNN:
    /// attention's per-block products under `--compute bf16`, whose operands are rounded once per
    /// attention call or as a block's rows are written, not per product (`TokenMajorAttention`'s bf16
    /// path). `gemmFloat32` multiplies the float32 values when oneDNN cannot plan the bf16 product.
    static func gemmBFloat16(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                             a: (UnsafePointer<Float>, Int), a16: (UnsafeMutablePointer<UInt16>, Int),
                             b: (UnsafePointer<Float>, Int), b16: (UnsafeMutablePointer<UInt16>, Int),
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m > 0 && n > 0 && k > 0 {
            let call = Call(transA: transA, transB: transB, lda: a16.1, ldb: b16.1, ldc: ldc, k: k, alpha: 1, beta: beta)
            if let plan = OneDNN.plan(call.key(m: m, n: n, bf16: true)), OneDNN.run(plan, a: a16.0, b: b16.0, c: c) { return }
        }
        gemmFloat32(transA: transA, transB: transB, m: m, n: n, k: k, a: a.0, lda: a.1, b: b.0, ldb: b.1, beta: beta, c: c, ldc: ldc)
    }

    /// The bf16 product with B read from the registered weight's packed copy (made at its first
    /// product of this layout, shared by the threads' row blocks): without it oneDNN copies the whole
    /// weight into that layout in every block of every call. The blocks are whole rows, so each reads
    /// all of B from its start: a pack is always of the whole weight. False when the blocks' plans
    /// read B as stored or not in one layout (the caller then runs the plain path).
    /// (Float32 x·Wᵀ gained 1.01–1.25× per block from packing but nothing measurable in the model,
    /// where its split by columns already copies each half of B once: Docs/Performance.md.)
    private static func runPacked(_ call: Call, blocks: [Block], n: Int, weight: BFloat16WeightCache.Entry,
                                  a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                                  bf16: (UnsafeMutablePointer<UInt16>, UnsafeMutablePointer<UInt16>),
                                  c: UnsafeMutablePointer<Float>) -> Bool {
        var plans: [Int: OneDNN.Plan] = [:]
        for block in blocks where plans[block.rows.count] == nil {
            guard let plan = OneDNN.plan(call.key(m: block.rows.count, n: n, bf16: true, packedB: true)) else { return false }
            plans[block.rows.count] = plan
        }
        guard let packed = weight.packedB(for: Array(plans.values)) else { return false }
        Threads.run(chunks: blocks.count) { p in
            let rows = blocks[p].rows
            guard let plan = plans[rows.count] else { return }
            let a0 = bf16.0 + (call.transA ? rows.lowerBound : rows.lowerBound * call.lda)
            if !OneDNN.run(plan, a: a0, b: packed.pointer, c: c + rows.lowerBound * call.ldc) {
                call.run(rows: rows, columns: blocks[p].columns, a: a, b: b, c: c, bf16: bf16)
            }
        }
        return true
    }

    struct Block { let rows, columns: Range<Int> }

    /// C cut into one block of rows or columns per thread (the larger side unless `byRows`).
    private static func blocks(m: Int, n: Int, k: Int, byRows: Bool = false) -> [Block] {
        let parts = splitParts(m: m, n: n, k: k)
        if parts <= 1 { return [Block(rows: 0..<m, columns: 0..<n)] }
        let splitRows = byRows || m > n
        let bounds = partBounds(extent: splitRows ? m : n, parts: parts)
        return (0..<parts).compactMap { p in
            let lo = bounds[p], hi = bounds[p + 1]
            guard lo < hi else { return nil }
            return splitRows ? Block(rows: lo..<hi, columns: 0..<n) : Block(rows: 0..<m, columns: lo..<hi)
        }
    }

    /// Boundaries of `parts` blocks of `extent` rows or columns: whole 16-wide kernel tiles shared as
    /// evenly as possible, the partial tile to the last block (which has no more whole tiles than any
    /// other), so no block is more than one tile larger than another. Rounding each block up to tiles
    /// instead gave an image encoding's 197 rows as 112 + 85: one thread idle a quarter of each product.
    static func partBounds(extent: Int, parts: Int) -> [Int] {
        let tiles = extent / 16
        var bounds = [0]
        for p in 0..<parts { bounds.append(bounds[p] + 16 * (tiles / parts + (p < tiles % parts ? 1 : 0))) }
        bounds[parts] += extent % 16
        return bounds
    }

    /// Multiply–adds per part below which a split costs more than it saves (a hand-off is ~1 µs;
    /// 2^16 multiply–adds take several µs even as a memory-bound GEMV).
    static let minimumPartWork = 1 << 16

    static func splitParts(m: Int, n: Int, k: Int) -> Int {
        #if canImport(Accelerate)
        return 1  // Accelerate threads internally
        #else
        let threads = Threads.count
        if threads <= 1 { return 1 }
        let byWork = m * n * k / minimumPartWork
        let byTiles = max(m, n) / 16
        return max(1, min(threads, byWork, byTiles))
        #endif
    }

    /// One CBLAS call on a block of C's rows and columns (leading dimensions of the whole matrices).
    private struct Call {
        let transA, transB: Bool
        let lda, ldb, ldc, k: Int
        let alpha, beta: Float

        func key(m: Int, n: Int, bf16: Bool, packedB: Bool = false) -> OneDNN.Key {
            OneDNN.Key(m: m, n: n, k: k, transA: transA, transB: transB, lda: lda, ldb: ldb, ldc: ldc,
                       bf16: bf16, accumulate: beta == 1, packedB: packedB)
        }

        /// Runs the block on oneDNN when `GEMMRoute` says so (bf16: the rounded copies of A and B),
        /// else, or if oneDNN cannot plan it, on OpenBLAS with the float32 inputs.
        func run(rows: Range<Int>, columns: Range<Int>, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                 c: UnsafeMutablePointer<Float>, bf16: (UnsafeMutablePointer<UInt16>, UnsafeMutablePointer<UInt16>)?) {
            let aOffset = transA ? rows.lowerBound : rows.lowerBound * lda
            let bOffset = transB ? columns.lowerBound * ldb : columns.lowerBound
            let c0 = c + rows.lowerBound * ldc + columns.lowerBound
            let m = rows.count, n = columns.count
            if bf16 != nil || GEMMRoute.usesOneDNNFloat32(m: m, n: n, k: k, transA: transA, transB: transB, alpha: alpha, beta: beta) {
                if let plan = OneDNN.plan(key(m: m, n: n, bf16: bf16 != nil)) {
                    let done = if let rounded = bf16 {
                        OneDNN.run(plan, a: rounded.0 + aOffset, b: rounded.1 + bOffset, c: c0)
                    } else {
                        OneDNN.run(plan, a: a + aOffset, b: b + bOffset, c: c0)
                    }
                    if done { return }
                }
            }
            runOpenBLAS(m: m, n: n, a: a + aOffset, b: b + bOffset, c: c0)
        }

        private func runOpenBLAS(m: Int, n: Int, a a0: UnsafePointer<Float>, b b0: UnsafePointer<Float>,
                                 c c0: UnsafeMutablePointer<Float>) {
            if transB && !transA && (SkinnyGEMM.minRows...SkinnyGEMM.maxRows).contains(m) {
                // A few rows against a weight matrix (decode): sgemm's packing of B would dominate.
                SkinnyGEMM.run(m: m, n: n, k: k, alpha: alpha, a: a0, lda: lda, b: b0, ldb: ldb, beta: beta, c: c0, ldc: ldc)
                return
            }
            if m == 1 {
                // y[N] = op(B)ᵀ-style product: row vector times matrix.
                // transB: B is [N,K] → y = B · a ; else B is [K,N] → y = Bᵀ · a.
                // (a's stride is 1 for the row of A; with transA the row's elements are lda apart.)
                cblas_sgemv(CblasRowMajor, transB ? CblasNoTrans : CblasTrans,
                            Int32(transB ? n : k), Int32(transB ? k : n), alpha, b0, Int32(ldb),
                            a0, Int32(transA ? lda : 1), beta, c0, 1)
                return
            }
            cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                        Int32(m), Int32(n), Int32(k), alpha, a0, Int32(lda), b0, Int32(ldb), beta, c0, Int32(ldc))
        }
    }

    /// The raw call with OpenBLAS's own threading (`Threads.count`), without the GEMV shortcut or our
    /// split: the baseline the kernel benchmarks compare `gemm` against.
    public static func rawSgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                                a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>) {
        #if !canImport(Accelerate)
        openblas_set_num_threads(Int32(Threads.count))
        defer { openblas_set_num_threads(1) }
        #endif
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), 1, a, Int32(transA ? m : k), b, Int32(transB ? k : n), 0, c, Int32(n))
    }
}
