import Foundation

/// What the token-major attention's block products read: the float32 tensors in their own layout
/// ([B, T, H, D], rows H·D floats apart), and under `--compute bf16` (`GEMMRoute.usesBF16Attention`)
/// bfloat16 copies of them rounded once per call into head-major [B, H, T, D]. oneDNN 2.6 runs its
/// brgemm kernels (AMX among them) only on dense operands: rows H·D floats apart sent every block
/// product to its slower `gemm:jit`. A block's P and dS are rounded as they are written
/// (`Operand.rounding`), and bf16 products write dense results, copied to the token-major rows.
extension TokenMajorAttention {
    /// Head-major bfloat16 copies of q, k and v, made once for every block's products.
    struct Rounded {
        let q, k, v: BFloat16Bits.Buffer
        init(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, _ geo: AttentionGeometry) {
            self.q = headMajorRounded(q, batch: geo.batch, tokens: geo.queries, heads: geo.queryHeads, dim: geo.headDim)
            self.k = headMajorRounded(k, batch: geo.batch, tokens: geo.keys, heads: geo.kvHeads, dim: geo.headDim)
            self.v = headMajorRounded(v, batch: geo.batch, tokens: geo.keys, heads: geo.kvHeads, dim: geo.valueDim)
        }
    }

    /// x [B, T, H, D] rounded to bfloat16 into [B, H, T, D], in one pass across the pool.
    static func headMajorRounded(_ x: UnsafePointer<Float>, batch: Int, tokens: Int, heads: Int, dim: Int) -> BFloat16Bits.Buffer {
        let out = BFloat16Bits.Buffer(count: batch * tokens * heads * dim)
        let bits = out.bits
        Threads.parallelFor(batch * tokens, minChunk: Swift.max(1, 16_384 / Swift.max(1, heads * dim))) { rows in
            for row in rows {
                let b = row / tokens, t = row % tokens
                for h in 0..<heads {
                    BFloat16Bits.round(x + (row * heads + h) * dim, into: bits + ((b * heads + h) * tokens + t) * dim, count: dim)
                }
            }
        }
        return out
    }

    /// One operand of a block product: float32 rows `ld` apart and, for bf16 products, the same
    /// values rounded, rows `ld16` apart.
    struct Operand {
        let f32: UnsafePointer<Float>
        let ld: Int
        let bf16: UnsafeMutablePointer<UInt16>?
        let ld16: Int

        /// The operand from its row `r` on.
        func rows(from r: Int) -> Operand { Operand(f32: f32 + r * ld, ld: ld, bf16: bf16.map { $0 + r * ld16 }, ld16: ld16) }

        /// `count` values at `x` (a block's P or dS, dense, rows `ld` apart), rounded into `into` when
        /// the products are bf16 (`into` non-nil), while the block is still in cache.
        static func rounding(_ x: UnsafePointer<Float>, ld: Int, count: Int, into: UnsafeMutablePointer<UInt16>?) -> Operand {
            if let into { BFloat16Bits.round(x, into: into, count: count) }
            return Operand(f32: x, ld: ld, bf16: into, ld16: ld)
        }
    }

    /// The rows of one head of q, k, v or the output gradient: the tensor's own ([B, T, H, D]) and, when
    /// `copy` is given, its head-major bf16 copy's.
    static func head(_ x: UnsafePointer<Float>, _ copy: BFloat16Bits.Buffer?, batch b: Int, head h: Int, tokens: Int, heads: Int,
                     dim: Int) -> Operand {
        Operand(f32: x + (b * tokens * heads + h) * dim, ld: heads * dim,
                bf16: copy.map { $0.bits + ((b * heads + h) * tokens) * dim }, ld16: dim)
    }

    /// C (+)= op(A)·op(B) on the calling thread: bf16 where both operands have copies, else float32.
    static func product(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, a: Operand, b: Operand,
                        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if let a16 = a.bf16, let b16 = b.bf16 {
            BLAS.gemmBFloat16(transA: transA, transB: transB, m: m, n: n, k: k, a: (a.f32, a.ld), a16: (a16, a.ld16),
                              b: (b.f32, b.ld), b16: (b16, b.ld16), beta: beta, c: c, ldc: ldc)
        } else {
            BLAS.gemmFloat32(transA: transA, transB: transB, m: m, n: n, k: k, a: a.f32, lda: a.ld, b: b.f32, ldb: b.ld,
                             beta: beta, c: c, ldc: ldc)
        }
    }

    /// The bf16 part of a unit's scratch, after `floats` floats: room for one block's P or dS (nil
    /// when the products are float32).
    static func bf16Scratch(_ scratch: UnsafeMutablePointer<Float>, after floats: Int, count: Int,
                            _ rounded: Rounded?) -> UnsafeMutablePointer<UInt16>? {
        rounded == nil ? nil : UnsafeMutableRawPointer(scratch + floats).bindMemory(to: UInt16.self, capacity: count)
    }
}
