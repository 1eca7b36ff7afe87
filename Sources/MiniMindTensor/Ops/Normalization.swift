import Foundation

// RMSNorm and LayerNorm over the last axis: one fused pass per row (in cache) forward, one backward.
// Row statistics (1/rms, mean and 1/std) are saved for backward. Weight and bias gradients are reduced
// per fixed chunk of rows and then summed in chunk order, so results depend only on the thread count.

/// y = x / sqrt(mean(x²) + eps) · w over the last axis (Docs/Model.md, "Language model"; computed in Float32 like upstream).
public func rmsNorm(_ x: Tensor, weight: Tensor?, eps: Float) -> Tensor {
    let d = NormKernels.checkShapes("rmsNorm", x, weight, nil)
    let rows = d == 0 ? 0 : x.count / d
    let out = Tensor.uninitialized(x.shape)
    var rstd = [Float](repeating: 0, count: rows)
    let xp = x.pointer, op = out.mutablePointer, wp = weight?.pointer
    rstd.withUnsafeMutableBufferPointer { sp in
        Threads.parallelFor(rows, minChunk: SoftmaxKernels.rowChunk(d)) { range in
            for r in range { sp[r] = NormKernels.rmsForwardRow(xp + r * d, wp, op + r * d, count: d, eps: eps) }
        }
    }
    let inputs = weight.map { [x, $0] } ?? [x]
    let saved = rstd
    return Tensor.record("rmsNorm", output: out, inputs: inputs) { g in
        let gp = g.pointer
        var grads: [Tensor?] = [nil]
        if x.needsGrad {
            let gx = Tensor.uninitialized(x.shape)
            let dp = gx.mutablePointer
            Threads.parallelFor(rows, minChunk: SoftmaxKernels.rowChunk(d)) { range in
                for r in range { NormKernels.rmsBackwardRow(gp + r * d, wp, xp + r * d, dp + r * d, count: d, rstd: saved[r]) }
            }
            grads[0] = gx
        }
        if let weight {
            grads.append(weight.needsGrad ? NormKernels.columnSums(rows: rows, width: d) { block, acc in
                saved.withUnsafeBufferPointer { NormKernels.rmsWeightGradient(gp, xp, $0, rows: block, width: d, into: acc) }
            } : nil)
        }
        return grads
    }
}

/// y = (x − mean) / sqrt(var + eps) · w + b over the last axis, with the biased variance (PyTorch).
public func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float) -> Tensor {
    let d = NormKernels.checkShapes("layerNorm", x, weight, bias)
    let rows = d == 0 ? 0 : x.count / d
    let out = Tensor.uninitialized(x.shape)
    // Per row: mean at [2r], 1/std at [2r + 1].
    var stats = [Float](repeating: 0, count: 2 * rows)
    let xp = x.pointer, op = out.mutablePointer, wp = weight?.pointer, bp = bias?.pointer
    stats.withUnsafeMutableBufferPointer { sp in
        Threads.parallelFor(rows, minChunk: SoftmaxKernels.rowChunk(d)) { range in
            for r in range {
                (sp[2 * r], sp[2 * r + 1]) = NormKernels.layerNormForwardRow(xp + r * d, wp, bp, op + r * d, count: d, eps: eps)
            }
        }
    }
    var inputs = [x]
    if let weight { inputs.append(weight) }
    if let bias { inputs.append(bias) }
    let saved = stats
    return Tensor.record("layerNorm", output: out, inputs: inputs) { g in
        let gp = g.pointer
        var grads: [Tensor?] = [nil]
        if x.needsGrad {
            let gx = Tensor.uninitialized(x.shape)
            let dp = gx.mutablePointer
            Threads.parallelFor(rows, minChunk: SoftmaxKernels.rowChunk(d)) { range in
                for r in range {
                    NormKernels.layerNormBackwardRow(gp + r * d, wp, xp + r * d, dp + r * d, count: d,
                                                     mean: saved[2 * r], rstd: saved[2 * r + 1])
                }
            }
            grads[0] = gx
        }
        if let weight {
            grads.append(weight.needsGrad ? NormKernels.columnSums(rows: rows, width: d) { block, acc in
                saved.withUnsafeBufferPointer { NormKernels.layerNormWeightGradient(gp, xp, $0, rows: block, width: d, into: acc) }
            } : nil)
        }
        if let bias {
            grads.append(bias.needsGrad ? NormKernels.columnSums(rows: rows, width: d) { block, acc in
                NormKernels.columnSum(gp, rows: block, width: d, into: acc)
            } : nil)
        }
        return grads
    }
}

enum NormKernels {
    typealias V = VectorMath.V

    /// Validates x [..., D] against weight/bias [D]; returns D.
    static func checkShapes(_ op: String, _ x: Tensor, _ weight: Tensor?, _ bias: Tensor?) -> Int {
        opRequire(x.rank >= 1, "\(op): input must have a last axis to normalise, got shape \(x.shape)")
        let d = x.shape[x.rank - 1]
        if let weight { opRequire(weight.shape == [d], "\(op): weight \(weight.shape) does not match input \(x.shape) (expected [\(d)])") }
        if let bias { opRequire(bias.shape == [d], "\(op): bias \(bias.shape) does not match input \(x.shape) (expected [\(d)])") }
        return d
    }

    // Row and block kernels are @inline(never): small functions into which the SIMD helpers are inlined.
    // Their elementwise bodies are small structs (below), not closures: a closure stayed an out-of-line
    // call per 16 elements, which made RMSNorm 3× slower than memory bandwidth allows.

    /// One RMSNorm row; returns 1/rms.
    @inline(never)
    static func rmsForwardRow(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>,
                              count d: Int, eps: Float) -> Float {
        let s = 1 / (Kernels.dot(x, x, count: d) / Float(d) + eps).squareRoot()
        let sv = V(repeating: s)
        if let w {
            rowMap(x, w, y, count: d, ScaleThenMultiply(s: sv))
        } else {
            rowMap(x, x, y, count: d, ScaleFirst(s: sv))
        }
        return s
    }

    /// n = x·s, dn = g·w:  dx = s · (dn − n · mean(dn ⊙ n)) = s · (dn − x · s²·Σ(dn ⊙ x)/D)
    @inline(never)
    static func rmsBackwardRow(_ g: UnsafePointer<Float>, _ w: UnsafePointer<Float>?, _ x: UnsafePointer<Float>,
                               _ dx: UnsafeMutablePointer<Float>, count d: Int, rstd s: Float) {
        let sv = V(repeating: s)
        if let w {
            let c = V(repeating: s * s * dot3(g, w, x, count: d) / Float(d))
            rowMap3(g, w, x, dx, count: d, RMSInputGradient(s: sv, c: c))
        } else {
            let c = V(repeating: s * s * Kernels.dot(g, x, count: d) / Float(d))
            rowMap(g, x, dx, count: d, RMSInputGradientNoWeight(s: sv, c: c))
        }
    }

    /// acc += Σ_rows g ⊙ x · rstd[row]
    @inline(never)
    static func rmsWeightGradient(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ rstd: UnsafeBufferPointer<Float>,
                                  rows: Range<Int>, width d: Int, into acc: UnsafeMutablePointer<Float>) {
        for r in rows {
            let sv = V(repeating: rstd[r])
            accumulate(acc, g + r * d, x + r * d, count: d, MultiplyScaled(s: sv))
        }
    }

    /// One LayerNorm row; returns (mean, 1/std).
    @inline(never)
    static func layerNormForwardRow(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>?, _ b: UnsafePointer<Float>?,
                                    _ y: UnsafeMutablePointer<Float>, count d: Int, eps: Float) -> (Float, Float) {
        let (mean, s) = meanAndRstd(x, count: d, eps: eps)
        let mv = V(repeating: mean), sv = V(repeating: s)
        switch (w, b) {
        case let (w?, b?):
            rowMap3(x, w, b, y, count: d, NormalizeAffine(m: mv, s: sv))
        case let (w?, nil):
            rowMap(x, w, y, count: d, NormalizeScale(m: mv, s: sv))
        case let (nil, b?):
            rowMap(x, b, y, count: d, NormalizeShift(m: mv, s: sv))
        case (nil, nil):
            rowMap(x, x, y, count: d, Normalize(m: mv, s: sv))
        }
        return (mean, s)
    }

    /// x̂ = (x − μ)·s, dx̂ = g·w:  dx = s · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ ⊙ x̂))
    @inline(never)
    static func layerNormBackwardRow(_ g: UnsafePointer<Float>, _ w: UnsafePointer<Float>?, _ x: UnsafePointer<Float>,
                                     _ dx: UnsafeMutablePointer<Float>, count d: Int, mean: Float, rstd s: Float) {
        let mv = V(repeating: mean), sv = V(repeating: s)
        let (sumG, sumGX) = sums(g, w, x, count: d, mean: mean, rstd: s)
        let a = V(repeating: sumG / Float(d)), c = V(repeating: sumGX / Float(d))
        if let w {
            rowMap3(g, w, x, dx, count: d, LayerNormInputGradient(m: mv, s: sv, a: a, c: c))
        } else {
            rowMap(g, x, dx, count: d, LayerNormInputGradientNoWeight(m: mv, s: sv, a: a, c: c))
        }
    }

    /// acc += Σ_rows g ⊙ x̂ with stats [mean, rstd] per row.
    @inline(never)
    static func layerNormWeightGradient(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ stats: UnsafeBufferPointer<Float>,
                                        rows: Range<Int>, width d: Int, into acc: UnsafeMutablePointer<Float>) {
        for r in rows {
            let mv = V(repeating: stats[2 * r]), sv = V(repeating: stats[2 * r + 1])
            accumulate(acc, g + r * d, x + r * d, count: d, MultiplyNormalized(m: mv, s: sv))
        }
    }

    /// acc += Σ_rows g
    @inline(never)
    static func columnSum(_ g: UnsafePointer<Float>, rows: Range<Int>, width d: Int, into acc: UnsafeMutablePointer<Float>) {
        for r in rows { accumulate(acc, g + r * d, g + r * d, count: d, First()) }
    }

    /// Mean and 1/sqrt(biased variance + eps) of one row: two passes, the second corrects the mean's
    /// rounding (Σ(x−μ) term), so a large common offset does not cancel the variance.
    @inline(__always)
    static func meanAndRstd(_ x: UnsafePointer<Float>, count n: Int, eps: Float) -> (Float, Float) {
        var acc = V()
        var i = 0
        while i + 16 <= n { acc += VectorMath.load(x, i); i += 16 }
        var sum = acc.sum()
        while i < n { sum += x[i]; i += 1 }
        let mean = sum / Float(n)
        let mv = V(repeating: mean)
        var accD = V(), accD2 = V()
        i = 0
        while i + 16 <= n {
            let dv = VectorMath.load(x, i) - mv
            accD += dv
            accD2 += dv * dv
            i += 16
        }
        var sd = accD.sum(), sd2 = accD2.sum()
        while i < n { let dv = x[i] - mean; sd += dv; sd2 += dv * dv; i += 1 }
        let variance = Swift.max(0, (sd2 - sd * sd / Float(n)) / Float(n))
        return (mean + sd / Float(n), 1 / (variance + eps).squareRoot())
    }

    /// (Σ dx̂, Σ dx̂ ⊙ x̂) for one row where dx̂ = g·w (or g) and x̂ = (x − mean)·rstd.
    @inline(__always)
    static func sums(_ g: UnsafePointer<Float>, _ w: UnsafePointer<Float>?, _ x: UnsafePointer<Float>,
                     count n: Int, mean: Float, rstd: Float) -> (Float, Float) {
        let mv = V(repeating: mean), sv = V(repeating: rstd)
        var a = V(), b = V()
        var i = 0
        while i + 16 <= n {
            let gv = w.map { VectorMath.load(g, i) * VectorMath.load($0, i) } ?? VectorMath.load(g, i)
            a += gv
            b += gv * ((VectorMath.load(x, i) - mv) * sv)
            i += 16
        }
        var sa = a.sum(), sb = b.sum()
        while i < n {
            let gv = w.map { g[i] * $0[i] } ?? g[i]
            sa += gv
            sb += gv * ((x[i] - mean) * rstd)
            i += 1
        }
        return (sa, sb)
    }

    /// Σ a[i]·b[i]·c[i].
    @inline(__always)
    static func dot3(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafePointer<Float>, count n: Int) -> Float {
        var acc = V()
        var i = 0
        while i + 16 <= n { acc += VectorMath.load(a, i) * VectorMath.load(b, i) * VectorMath.load(c, i); i += 16 }
        var s = acc.sum()
        while i < n { s += a[i] * b[i] * c[i]; i += 1 }
        return s
    }

    @inline(__always)
    static func rowMap<F: SIMDRowFunction2>(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ d: UnsafeMutablePointer<Float>,
                                            count n: Int, _ f: F) {
        SoftmaxKernels.rowMap(a, b, d, count: n, f)
    }

    @inline(__always)
    static func rowMap3<F: SIMDRowFunction3>(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafePointer<Float>,
                                             _ d: UnsafeMutablePointer<Float>, count n: Int, _ f: F) {
        var i = 0
        while i + 16 <= n {
            VectorMath.store(f(VectorMath.load(a, i), VectorMath.load(b, i), VectorMath.load(c, i)), d, i)
            i += 16
        }
        if i < n {
            let k = n - i
            let v = f(VectorMath.loadPartial(a, i, count: k, fill: 0), VectorMath.loadPartial(b, i, count: k, fill: 0),
                      VectorMath.loadPartial(c, i, count: k, fill: 0))
            VectorMath.storePartial(v, d, i, count: k)
        }
    }

    /// acc[i] += f(a[i], b[i]) over one row.
    @inline(__always)
    static func accumulate<F: SIMDRowFunction2>(_ acc: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>,
                                                _ b: UnsafePointer<Float>, count n: Int, _ f: F) {
        var i = 0
        while i + 16 <= n {
            VectorMath.store(VectorMath.load(acc, i) + f(VectorMath.load(a, i), VectorMath.load(b, i)), acc, i)
            i += 16
        }
        if i < n {
            let k = n - i
            let v = f(VectorMath.loadPartial(a, i, count: k, fill: 0), VectorMath.loadPartial(b, i, count: k, fill: 0))
            for j in 0..<k { acc[i + j] += v[j] }
        }
    }

    /// A [width] tensor summing per-row contributions: rows are split into a fixed number of blocks
    /// (one per thread), `addRows(block, acc)` accumulates a block into its own buffer, and the buffers
    /// are added in order, so the result depends only on the thread count.
    static func columnSums(rows: Int, width: Int,
                           _ addRows: (Range<Int>, UnsafeMutablePointer<Float>) -> Void) -> Tensor {
        let blocks = Swift.max(1, Swift.min(Threads.count, rows * width / 16_384))
        let per = (rows + blocks - 1) / blocks
        let partial = Tensor.zeros([blocks, width])
        let pp = partial.mutablePointer
        Threads.parallelFor(blocks, minChunk: 1) { range in
            for b in range { addRows((b * per)..<Swift.min(rows, (b + 1) * per), pp + b * width) }
        }
        let out = Tensor.zeros([width])
        for b in 0..<blocks { Kernels.addInPlace(out.mutablePointer, pp + b * width, count: width) }
        return out
    }
}

// The elementwise bodies of the normalisation row kernels (see the note in NormKernels).
extension NormKernels {
    /// (x·s)·w
    struct ScaleThenMultiply: SIMDRowFunction2 {
        let s: V
        @inline(__always) func callAsFunction(_ x: V, _ w: V) -> V { (x * s) * w }
    }
    /// x·s
    struct ScaleFirst: SIMDRowFunction2 {
        let s: V
        @inline(__always) func callAsFunction(_ x: V, _ unused: V) -> V { x * s }
    }
    /// s·(g·w − x·c)
    struct RMSInputGradient: SIMDRowFunction3 {
        let s: V, c: V
        @inline(__always) func callAsFunction(_ g: V, _ w: V, _ x: V) -> V { s * (g * w - x * c) }
    }
    /// s·(g − x·c)
    struct RMSInputGradientNoWeight: SIMDRowFunction2 {
        let s: V, c: V
        @inline(__always) func callAsFunction(_ g: V, _ x: V) -> V { s * (g - x * c) }
    }
    /// g·(x·s)
    struct MultiplyScaled: SIMDRowFunction2 {
        let s: V
        @inline(__always) func callAsFunction(_ g: V, _ x: V) -> V { g * (x * s) }
    }
    /// ((x − m)·s)·w + b
    struct NormalizeAffine: SIMDRowFunction3 {
        let m: V, s: V
        @inline(__always) func callAsFunction(_ x: V, _ w: V, _ b: V) -> V { ((x - m) * s) * w + b }
    }
    /// ((x − m)·s)·w
    struct NormalizeScale: SIMDRowFunction2 {
        let m: V, s: V
        @inline(__always) func callAsFunction(_ x: V, _ w: V) -> V { ((x - m) * s) * w }
    }
    /// (x − m)·s + b
    struct NormalizeShift: SIMDRowFunction2 {
        let m: V, s: V
        @inline(__always) func callAsFunction(_ x: V, _ b: V) -> V { (x - m) * s + b }
    }
    /// (x − m)·s
    struct Normalize: SIMDRowFunction2 {
        let m: V, s: V
        @inline(__always) func callAsFunction(_ x: V, _ unused: V) -> V { (x - m) * s }
    }
    /// s·((g·w − a) − ((x − m)·s)·c)
    struct LayerNormInputGradient: SIMDRowFunction3 {
        let m: V, s: V, a: V, c: V
        @inline(__always) func callAsFunction(_ g: V, _ w: V, _ x: V) -> V { s * ((g * w - a) - ((x - m) * s) * c) }
    }
    /// s·((g − a) − ((x − m)·s)·c)
    struct LayerNormInputGradientNoWeight: SIMDRowFunction2 {
        let m: V, s: V, a: V, c: V
        @inline(__always) func callAsFunction(_ g: V, _ x: V) -> V { s * ((g - a) - ((x - m) * s) * c) }
    }
    /// g·((x − m)·s)
    struct MultiplyNormalized: SIMDRowFunction2 {
        let m: V, s: V
        @inline(__always) func callAsFunction(_ g: V, _ x: V) -> V { g * ((x - m) * s) }
    }
    /// g
    struct First: SIMDRowFunction2 {
        @inline(__always) func callAsFunction(_ g: V, _ unused: V) -> V { g }
    }
}
