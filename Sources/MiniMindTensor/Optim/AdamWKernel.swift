import Foundation
#if arch(x86_64) && canImport(_Builtin_intrinsics)
// Clang's builtin SSE module: Swift on Linux lowers Float.squareRoot() to a per-lane libm call
// (errno fallback), which made the square root 60% of the update time.
import _Builtin_intrinsics.intel
#endif

/// The fused AdamW element update. It repeats PyTorch's CPU kernels operation by operation, so the
/// Float32 rounding matches:
///   p.mul_(1 - lr·wd)                       p = p·decay
///   exp_avg.lerp_(g, 1 - β1)                m = m + (1-β1)·(g - m)      (lerp, weight < 0.5)
///   exp_avg_sq.mul_(β2).addcmul_(g, g, 1-β2) v = v·β2 + ((1-β2)·g)·g
///   denom = sqrt(v) / sqrt(bc2) + eps
///   p.addcdiv_(m, denom, value=-lr/bc1)     p = p + (-step·m) / denom
/// Results agree with PyTorch to about one Float ulp of the update, not bit for bit: measured on
/// torch 2.13 (AVX512), its float32 `sqrt` is not correctly rounded (1-ulp off on ~16% of inputs),
/// and its lerp and addcmul are fused multiply-adds; this loop uses a correctly rounded square root
/// (SSE `sqrtps`) and no FMA (an FMA on a CPU target without FMA is a library call per element).
enum AdamWKernel {
    struct Factors {
        var decay: Float
        var applyDecay: Bool
        var oneMinusBeta1: Float
        var beta2: Float
        var oneMinusBeta2: Float
        var biasCorrection2Sqrt: Float
        var eps: Float
        var negStepSize: Float
    }

    typealias V = SIMD16<Float>

    /// `gradientScale`: each gradient value is multiplied by it first (the clip's factor, the same
    /// Float product as `clipGradNorm`'s pass). `rounded`: receives the updated values rounded to
    /// bfloat16 (`BFloat16Bits.round`), a block at a time right after the block is written, while
    /// it is in L1 (rounding lane by lane inside the update loop cost more than the read it saved).
    static func update(param p: UnsafeMutablePointer<Float>, grad g: UnsafePointer<Float>,
                       expAvg m: UnsafeMutablePointer<Float>, expAvgSq v: UnsafeMutablePointer<Float>,
                       count: Int, factors f: Factors, gradientScale: Float? = nil,
                       rounded: UnsafeMutablePointer<UInt16>? = nil) {
        Threads.parallelFor(count, minChunk: 1 << 15) { r in
            guard let rounded else { update(p, g, m, v, f, gradientScale, r); return }
            for lo in stride(from: r.lowerBound, to: r.upperBound, by: 2048) {
                let hi = Swift.min(lo + 2048, r.upperBound)
                update(p, g, m, v, f, gradientScale, lo..<hi)
                BFloat16Bits.round(UnsafePointer(p + lo), into: rounded + lo, count: hi - lo)
            }
        }
    }

    @inline(never)
    private static func update(_ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Float>,
                               _ v: UnsafeMutablePointer<Float>, _ f: Factors, _ gradientScale: Float?, _ r: Range<Int>) {
        var i = r.lowerBound
        let vDecay = V(repeating: f.decay), w1 = V(repeating: f.oneMinusBeta1)
        let b2 = V(repeating: f.beta2), w2 = V(repeating: f.oneMinusBeta2)
        let bc2 = V(repeating: f.biasCorrection2Sqrt), eps = V(repeating: f.eps)
        let step = V(repeating: f.negStepSize)
        let scale = V(repeating: gradientScale ?? 1), scaled = gradientScale != nil
        while i + 16 <= r.upperBound {
            var pv = load(p, i)
            var gv = load(g, i)
            if scaled { gv = gv * scale }
            if f.applyDecay { pv = pv * vDecay }
            let mv = load(m, i) + w1 * (gv - load(m, i))
            let vv = load(v, i) * b2 + (w2 * gv) * gv
            let denom = squareRoot(vv) / bc2 + eps
            pv = pv + (step * mv) / denom
            store(mv, m, i)
            store(vv, v, i)
            store(pv, p, i)
            i += 16
        }
        while i < r.upperBound {
            var pi = p[i]
            var gi = g[i]
            if let gradientScale { gi = gi * gradientScale }
            if f.applyDecay { pi = pi * f.decay }
            let mi = m[i] + f.oneMinusBeta1 * (gi - m[i])
            let vi = v[i] * f.beta2 + (f.oneMinusBeta2 * gi) * gi
            let denom = vi.squareRoot() / f.biasCorrection2Sqrt + f.eps
            p[i] = pi + (f.negStepSize * mi) / denom
            m[i] = mi
            v[i] = vi
            i += 1
        }
    }

    /// Lane-wise IEEE square root (identical to `Float.squareRoot()`), four SSE lanes at a time.
    @inline(__always)
    static func squareRoot(_ x: V) -> V {
        #if arch(x86_64) && canImport(_Builtin_intrinsics)
        let a = _mm_sqrt_ps(x.lowHalf.lowHalf), b = _mm_sqrt_ps(x.lowHalf.highHalf)
        let c = _mm_sqrt_ps(x.highHalf.lowHalf), d = _mm_sqrt_ps(x.highHalf.highHalf)
        return V(lowHalf: SIMD8(lowHalf: a, highHalf: b), highHalf: SIMD8(lowHalf: c, highHalf: d))
        #else
        return x.squareRoot()
        #endif
    }

    @inline(__always)
    private static func load(_ p: UnsafePointer<Float>, _ i: Int) -> V {
        UnsafeRawPointer(p + i).loadUnaligned(as: V.self)
    }

    @inline(__always)
    private static func load(_ p: UnsafeMutablePointer<Float>, _ i: Int) -> V {
        UnsafeRawPointer(p + i).loadUnaligned(as: V.self)
    }

    @inline(__always)
    private static func store(_ x: V, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
        UnsafeMutableRawPointer(p + i).storeBytes(of: x, as: V.self)
    }
}
