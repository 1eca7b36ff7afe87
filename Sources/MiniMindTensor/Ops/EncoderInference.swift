import Foundation
#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif
#if arch(x86_64)
import CDecodeKernels
#endif

/// The forward of a frozen encoder layer's two blocks (CLIP/SigLIP vision towers) when nothing is
/// recorded for autograd: the same products and functions as `linear`, `scaledDotProductAttention`
/// and the activations, with fewer passes over memory and fewer hand-offs between the threads.
/// - Attention reads each head's q, k, v where the projections wrote them ([N·T, H], head h in
///   columns h·d..<(h+1)·d) and writes its output there too: no permuted copies in or out.
/// - In bf16 each LayerNorm writes the bf16 copy its products read in the same pass, and the MLP's
///   activation writes the one fc2 reads (no separate rounding passes, one for q, k and v).
/// - Softmax and activation run in C with AVX-512 where the CPU has it (`kernel`).
/// Results differ from the general path by summation order inside the products and, with the C
/// kernels, by a few ulp in exp and 1/x (both keep attention's blocks in float32 and round to
/// bfloat16 with `BFloat16Bits.round`'s bits). Callers fall back to the general path where these
/// return nil (a layer with another kernel, an unsupported activation).
public enum EncoderInference {
    /// Activations with a SIMD kernel here (the exact-erf GELU is scalar: it takes the general path).
    public enum Activation: Sendable { case quickGelu, geluTanh }

    /// The largest score block per thread (T² floats): longer sequences take the general path, which
    /// blocks the scores.
    static let maxScoreElements = 1 << 22

    /// o = softmax(q·kᵀ/√d)·v per head with q, k, v = the projections of x [N, T, H]; o [N, T, H],
    /// before the output projection. nil when a projection is not a plain `Linear` or the shapes do
    /// not fit (the caller then runs the general path).
    public static func selfAttention(_ x: Tensor, heads: Int, q: Linear, k: Linear, v: Linear) -> Tensor? {
        selfAttention(x, roundedInput: nil, heads: heads, q: q, k: k, v: v)
    }

    /// x + out(selfAttention(norm(x))): the block of a pre-norm layer, the normalised rows rounded to
    /// bf16 in the same pass when the projections run in bf16. nil as for `selfAttention`.
    public static func attentionBlock(_ x: Tensor, norm: LayerNorm, heads: Int, q: Linear, k: Linear, v: Linear,
                                      out: Linear) -> Tensor? {
        guard x.rank == 3, [q, k, v, out].allSatisfy(isPlain) else { return nil }
        let rows = x.count / Swift.max(x.shape[2], 1)
        let bf16 = [q, k, v].contains {
            GEMMRoute.usesBF16(m: rows, n: $0.outFeatures, k: $0.inFeatures, alpha: 1, beta: $0.bias == nil ? 0 : 1)
        }
        let (h, h16) = normalized(x, norm, rounding: bf16)
        return selfAttention(h, roundedInput: h16, heads: heads, q: q, k: k, v: v).flatMap { linear($0, out, plus: x) }
    }

    /// x + fc2(activation(fc1(norm(x)))): the other block of a pre-norm layer, normalised and rounded
    /// in one pass as in `attentionBlock`. nil as for `mlp`.
    public static func mlpBlock(_ x: Tensor, norm: LayerNorm, fc1: Linear, fc2: Linear, activation: Activation) -> Tensor? {
        guard isPlain(fc1), isPlain(fc2), fc2.inFeatures == fc1.outFeatures, x.rank >= 1,
              x.shape[x.rank - 1] == fc1.inFeatures, fc2.outFeatures == fc1.inFeatures else { return nil }
        let rows = x.count / Swift.max(fc1.inFeatures, 1)
        let bf16 = GEMMRoute.usesBF16(m: rows, n: fc1.outFeatures, k: fc1.inFeatures, alpha: 1, beta: fc1.bias == nil ? 0 : 1)
        let (h, h16) = normalized(x, norm, rounding: bf16)
        return mlp(h, roundedInput: h16, fc1: fc1, fc2: fc2, activation: activation, plus: x)
    }

    /// LayerNorm of x's rows and, with `rounding`, their bf16 copy, each row rounded right after it
    /// is normalised (one pass over the activations instead of two).
    static func normalized(_ x: Tensor, _ norm: LayerNorm, rounding: Bool) -> (Tensor, BFloat16Bits.Buffer?) {
        let d = NormKernels.checkShapes("layerNorm", x, norm.weight, norm.bias)
        let rows = d == 0 ? 0 : x.count / d
        let out = Tensor.uninitialized(x.shape)
        let copy = rounding ? BFloat16Bits.Buffer(count: x.count) : nil
        let xp = x.pointer, op = out.mutablePointer, wp = norm.weight?.pointer, bp = norm.bias?.pointer, bits = copy?.bits
        let eps = norm.eps
        Threads.parallelFor(rows, minChunk: SoftmaxKernels.rowChunk(d)) { range in
            for r in range {
                _ = NormKernels.layerNormForwardRow(xp + r * d, wp, bp, op + r * d, count: d, eps: eps)
                if let bits { BFloat16Bits.round(op + r * d, into: bits + r * d, count: d) }
            }
        }
        return (out, copy)
    }

    static func selfAttention(_ x: Tensor, roundedInput: BFloat16Bits.Buffer?, heads: Int, q: Linear, k: Linear, v: Linear) -> Tensor? {
        guard x.rank == 3, heads > 0, [q, k, v].allSatisfy(isPlain) else { return nil }
        let n = x.shape[0], t = x.shape[1], hidden = q.outFeatures
        guard hidden % heads == 0, k.outFeatures == hidden, v.outFeatures == hidden, t > 0,
              t * (t + 15) <= maxScoreElements, q.inFeatures == x.shape[2] else { return nil }
        let rows = n * t
        let bf16 = [q, k, v].contains {
            GEMMRoute.usesBF16(m: rows, n: $0.outFeatures, k: $0.inFeatures, alpha: 1, beta: $0.bias == nil ? 0 : 1)
        }
        let x16 = bf16 ? roundedInput ?? BFloat16Bits.rounded(x.pointer, count: x.count) : nil
        let qs = MiniMindTensor.linear(x, weight: q.weight, bias: q.bias, roundedInput: x16)
        let ks = MiniMindTensor.linear(x, weight: k.weight, bias: k.bias, roundedInput: x16)
        let vs = MiniMindTensor.linear(x, weight: v.weight, bias: v.bias, roundedInput: x16)
        let out = Tensor.uninitialized([n, t, hidden])
        let d = hidden / heads, scale = 1 / Float(d).squareRoot()
        let qp = qs.pointer, kp = ks.pointer, vp = vs.pointer, op = out.mutablePointer
        // Score rows a whole number of 16-lane vectors apart (see `softmaxRows`).
        let width = (t + 15) / 16 * 16
        Threads.forEach(units: n * heads, scratchCount: t * width) { unit, scores in
            let base = unit / heads * t * hidden + unit % heads * d
            product(transB: true, m: t, n: t, k: d, a: qp + base, lda: hidden, b: kp + base, ldb: hidden, c: scores, ldc: width)
            softmaxRows(scores, rows: t, count: t, ld: width, scale: scale)
            product(transB: false, m: t, n: d, k: t, a: scores, lda: width, b: vp + base, ldb: hidden, c: op + base, ldc: hidden)
        }
        return withExtendedLifetime((qs, ks, vs)) { out }
    }

    /// residual + layer(x): the output starts as residual + bias (one pass, instead of the bias
    /// fill and a separate addition) and the product accumulates into it. nil when `layer` is not a
    /// plain `Linear` or the shapes differ.
    public static func linear(_ x: Tensor, _ layer: Linear, plus residual: Tensor) -> Tensor? {
        linear(x, layer, plus: residual, roundedInput: nil)
    }

    static func linear(_ x: Tensor, _ layer: Linear, plus residual: Tensor, roundedInput: BFloat16Bits.Buffer?) -> Tensor? {
        let inF = layer.inFeatures, outF = layer.outFeatures
        guard isPlain(layer), x.rank >= 1, x.shape[x.rank - 1] == inF,
              residual.shape == Array(x.shape.dropLast()) + [outF] else { return nil }
        let rows = x.count / Swift.max(inF, 1)
        let out = Tensor.uninitialized(residual.shape)
        let o = out.mutablePointer, r0 = residual.pointer, b = layer.bias?.pointer
        Threads.parallelFor(rows, minChunk: SoftmaxKernels.rowChunk(outF)) { range in
            for r in range {
                if let b { Kernels.binaryRange(r0 + r * outF, b, o + r * outF, 0..<outF, SIMDFunctions.Add()) }
                else { (o + r * outF).update(from: r0 + r * outF, count: outF) }
            }
        }
        let bf16 = GEMMRoute.usesBF16(m: rows, n: outF, k: inF, alpha: 1, beta: 1)
        let x16 = bf16 ? roundedInput ?? BFloat16Bits.rounded(x.pointer, count: x.count) : nil
        BLAS.gemm(transB: true, m: rows, n: outF, k: inF, a: x.pointer, b: layer.weight.pointer, beta: 1, c: o,
                  roundedA: x16, roundedB: nil)
        return out
    }

    /// fc2(activation(fc1(x))) (+ residual). fc1's output is activated in place; in bf16 the same
    /// pass writes the rounded copy fc2 reads. nil when fc1 or fc2 is not a plain `Linear`.
    public static func mlp(_ x: Tensor, fc1: Linear, fc2: Linear, activation: Activation, plus residual: Tensor? = nil) -> Tensor? {
        mlp(x, roundedInput: nil, fc1: fc1, fc2: fc2, activation: activation, plus: residual)
    }

    static func mlp(_ x: Tensor, roundedInput: BFloat16Bits.Buffer?, fc1: Linear, fc2: Linear, activation: Activation,
                    plus residual: Tensor?) -> Tensor? {
        guard isPlain(fc1), isPlain(fc2), fc2.inFeatures == fc1.outFeatures else { return nil }
        let h = MiniMindTensor.linear(x, weight: fc1.weight, bias: fc1.bias, roundedInput: roundedInput)
        let rows = h.count / Swift.max(fc1.outFeatures, 1)
        let bf16 = GEMMRoute.usesBF16(m: rows, n: fc2.outFeatures, k: fc2.inFeatures, alpha: 1, beta: fc2.bias == nil ? 0 : 1)
        let h16 = bf16 ? BFloat16Bits.Buffer(count: h.count) : nil
        let hp = h.mutablePointer, bits = h16?.bits
        Threads.parallelFor(h.count, minChunk: 1 << 14) { r in activate(hp, bits, r, activation) }
        if let residual { return linear(h, fc2, plus: residual, roundedInput: h16) }
        return MiniMindTensor.linear(h, weight: fc2.weight, bias: fc2.bias, roundedInput: h16)
    }

    /// The pointwise kernels' code: C with AVX-512 where `DecodeKernel.current` is (16 lanes and masked
    /// tails; the Swift kernels are built for AVX2), else Swift. Tests set it to run both.
    nonisolated(unsafe) static var kernel = DecodeKernel.current

    /// Softmax in place of `rows` score rows of `count`, `ld` apart, scaled by `scale` inside the exp.
    static func softmaxRows(_ s: UnsafeMutablePointer<Float>, rows: Int, count: Int, ld: Int, scale: Float) {
        #if arch(x86_64)
        if kernel == .avx512 { mm_encoder_softmax_rows_avx512(s, rows, count, ld, scale); return }
        #endif
        // Rows padded to whole 16-lane vectors with −∞ (exp gives exactly 0 there, as the softmax's
        // own tail fill does) run without its lane-by-lane tail.
        let padded = Swift.min(ld, (count + 15) / 16 * 16)
        for r in 0..<rows {
            let row = s + r * ld
            (row + count).update(repeating: -.infinity, count: padded - count)
            _ = AttentionKernel.softmaxRow(row, count: padded, visible: padded, keep: nil, scale: scale)
        }
    }

    /// x = f(x) over `r`, and bits = bf16(f(x)) when given.
    static func activate(_ x: UnsafeMutablePointer<Float>, _ bits: UnsafeMutablePointer<UInt16>?, _ r: Range<Int>,
                         _ activation: Activation) {
        #if arch(x86_64)
        if kernel == .avx512 {
            mm_encoder_activation_avx512(x + r.lowerBound, bits.map { $0 + r.lowerBound }, r.count, activation == .quickGelu ? 0 : 1)
            return
        }
        #endif
        switch activation {
        case .quickGelu: activate(x, bits, r, ActivationKernels.QuickGelu())
        case .geluTanh: activate(x, bits, r, ActivationKernels.GeluTanh())
        }
    }

    /// A `Linear` that runs `linear` on its own weight (not a subclass with another kernel).
    static func isPlain(_ layer: Linear) -> Bool { type(of: layer) == Linear.self }

    /// In place x = f(x) over `r`, and bits = bf16(f(x)) when given: one pass for both.
    @inline(never)
    static func activate<F: ActivationFunction>(_ x: UnsafeMutablePointer<Float>, _ bits: UnsafeMutablePointer<UInt16>?,
                                                _ r: Range<Int>, _ f: F) {
        var i = r.lowerBound
        if let bits {
            while i + 16 <= r.upperBound {
                let y = f(VectorMath.load(x, i))
                VectorMath.store(y, x, i)
                UnsafeMutableRawPointer(bits + i).storeBytes(of: BFloat16Bits.round(unsafeBitCast(y, to: BFloat16Bits.Lanes.self)),
                                                             as: SIMD16<UInt16>.self)
                i += 16
            }
        } else {
            while i + 16 <= r.upperBound { VectorMath.store(f(VectorMath.load(x, i)), x, i); i += 16 }
        }
        if i < r.upperBound {
            let count = r.upperBound - i
            VectorMath.storePartial(f(VectorMath.loadPartial(x, i, count: count, fill: 0)), x, i, count: count)
            if let bits { for j in i..<r.upperBound { bits[j] = BFloat16Bits.round(x[j]) } }
        }
    }

    /// One thread's C = op(A)·op(B) with leading dimensions (a head's columns inside a wider
    /// matrix). Both per-head products run on oneDNN wherever `GEMMRoute` puts float32 x·Wᵀ blocks
    /// of these rows there: with the heads' strides (kernel `gemm:jit`) it ran q·kᵀ 1.14–1.18× and
    /// P·v 1.19–1.21× OpenBLAS's Cooperlake kernels (`Scripts/bench_attention_heads.c`).
    static func product(transB: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                        b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if GEMMRoute.usesOneDNNFloat32(m: m, n: n, k: k, transA: false, transB: true, alpha: 1, beta: 0),
           let plan = OneDNN.plan(OneDNN.Key(m: m, n: n, k: k, transA: false, transB: transB, lda: lda, ldb: ldb, ldc: ldc,
                                             bf16: false, accumulate: false)),
           OneDNN.run(plan, a: a, b: b, c: c) {
            return
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, transB ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), Int32(k),
                    1, a, Int32(lda), b, Int32(ldb), 0, c, Int32(ldc))
    }
}

/// A SIMD activation for `EncoderInference.activate` (a struct, not a closure: the optimiser inlines
/// its math into the loop; see `ActivationKernels`).
protocol ActivationFunction {
    func callAsFunction(_ x: VectorMath.V) -> VectorMath.V
}

extension ActivationKernels {
    struct QuickGelu: ActivationFunction {
        @inline(__always) func callAsFunction(_ x: V) -> V { ActivationKernels.quickGelu(x) }
    }
    struct GeluTanh: ActivationFunction {
        @inline(__always) func callAsFunction(_ x: V) -> V { ActivationKernels.geluTanh(x) }
    }
}
