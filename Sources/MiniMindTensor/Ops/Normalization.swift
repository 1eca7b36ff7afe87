import Foundation

// RMSNorm and LayerNorm over the last axis: one fused pass per row (in cache) forward, one backward.
// Row statistics (1/rms, mean and 1/std) are saved for backward. Weight and bias gradients are reduced
// per fixed chunk of rows and then summed in chunk order, so results depend only on the thread count.

/// y = x / sqrt(mean(x²) + eps) · w over the last axis (SPEC §1; computed in Float32 like upstream).
public func rmsNorm(_ x: Tensor, weight: Tensor?, eps: Float) -> Tensor {
    let d = NormKernels.checkShapes("rmsNorm", x, weight, nil)
    let rows = d == 0 ? 0 : x.count / d
    let out = Tensor.uninitialized(x.shape)
    var rstd = [Float](repeating: 0, count: rows)
    let xp = x.pointer, op = out.mutablePointer, wp = weight?.pointer
    rstd.withUnsafeMutableBufferPointer { sp in
        Threads.parallelFor(rows, minChunk: SoftmaxKernels.rowChunk(d)) { range in
            for r in range {
                let xr = xp + r * d, yr = op + r * d
                let ss = Kernels.dot(xr, xr, count: d)
                let s = 1 / (ss / Float(d) + eps).squareRoot()
                sp[r] = s
                let sv = NormKernels.V(repeating: s)
                if let wp {
                    NormKernels.rowMap(xr, wp, yr, count: d) { xv, wv in (xv * sv) * wv }
                } else {
                    NormKernels.rowMap(xr, xr, yr, count: d) { xv, _ in xv * sv }
                }
            }
        }
    }
    let inputs = weight.map { [x, $0] } ?? [x]
    let rstdSaved = rstd
    return Tensor.record("rmsNorm", output: out, inputs: inputs) { g in
        let gp = g.pointer
        var grads: [Tensor?] = [nil]
        if x.needsGrad {
            // n = x·s, dn = g·w:  dx = s · (dn − n · mean(dn ⊙ n)) = s · (dn − x · s²·Σ(dn ⊙ x)/D)
            let gx = Tensor.uninitialized(x.shape)
            let dp = gx.mutablePointer
            Threads.parallelFor(rows, minChunk: SoftmaxKernels.rowChunk(d)) { range in
                for r in range {
                    let xr = xp + r * d, gr = gp + r * d, dr = dp + r * d
                    let s = rstdSaved[r]
                    let dot = wp.map { NormKernels.dot3(gr, $0, xr, count: d) } ?? Kernels.dot(gr, xr, count: d)
                    let c = NormKernels.V(repeating: s * s * dot / Float(d)), sv = NormKernels.V(repeating: s)
                    if let wp {
                        NormKernels.rowMap3(gr, wp, xr, dr, count: d) { gv, wv, xv in sv * (gv * wv - xv * c) }
                    } else {
                        NormKernels.rowMap(gr, xr, dr, count: d) { gv, xv in sv * (gv - xv * c) }
                    }
                }
            }
            grads[0] = gx
        }
        if let weight {
            grads.append(weight.needsGrad ? NormKernels.columnSums(rows: rows, width: d) { r, acc in
                // dw += g ⊙ x · s
                let sv = NormKernels.V(repeating: rstdSaved[r])
                NormKernels.accumulate(acc, gp + r * d, xp + r * d, count: d) { gv, xv in gv * (xv * sv) }
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
    var means = [Float](repeating: 0, count: rows), rstd = [Float](repeating: 0, count: rows)
    let xp = x.pointer, op = out.mutablePointer, wp = weight?.pointer, bp = bias?.pointer
    means.withUnsafeMutableBufferPointer { mp in
        rstd.withUnsafeMutableBufferPointer { sp in
            Threads.parallelFor(rows, minChunk: SoftmaxKernels.rowChunk(d)) { range in
                for r in range {
                    let xr = xp + r * d, yr = op + r * d
                    let (mean, s) = NormKernels.meanAndRstd(xr, count: d, eps: eps)
                    mp[r] = mean
                    sp[r] = s
                    let mv = NormKernels.V(repeating: mean), sv = NormKernels.V(repeating: s)
                    switch (wp, bp) {
                    case let (w?, b?):
                        NormKernels.rowMap3(xr, w, b, yr, count: d) { xv, wv, bv in ((xv - mv) * sv) * wv + bv }
                    case let (w?, nil):
                        NormKernels.rowMap(xr, w, yr, count: d) { xv, wv in ((xv - mv) * sv) * wv }
                    case let (nil, b?):
                        NormKernels.rowMap(xr, b, yr, count: d) { xv, bv in (xv - mv) * sv + bv }
                    case (nil, nil):
                        NormKernels.rowMap(xr, xr, yr, count: d) { xv, _ in (xv - mv) * sv }
                    }
                }
            }
        }
    }
    var inputs = [x]
    if let weight { inputs.append(weight) }
    if let bias { inputs.append(bias) }
    let meansSaved = means, rstdSaved = rstd
    return Tensor.record("layerNorm", output: out, inputs: inputs) { g in
        let gp = g.pointer
        var grads: [Tensor?] = [nil]
        if x.needsGrad {
            // x̂ = (x − μ)·s, dx̂ = g·w:  dx = s · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ ⊙ x̂))
            let gx = Tensor.uninitialized(x.shape)
            let dp = gx.mutablePointer
            Threads.parallelFor(rows, minChunk: SoftmaxKernels.rowChunk(d)) { range in
                for r in range {
                    let xr = xp + r * d, gr = gp + r * d, dr = dp + r * d
                    let mean = meansSaved[r], s = rstdSaved[r]
                    let mv = NormKernels.V(repeating: mean), sv = NormKernels.V(repeating: s)
                    let (sumG, sumGX) = NormKernels.sums(gr, wp, xr, count: d, mean: mean, rstd: s)
                    let a = NormKernels.V(repeating: sumG / Float(d)), c = NormKernels.V(repeating: sumGX / Float(d))
                    if let wp {
                        NormKernels.rowMap3(gr, wp, xr, dr, count: d) { gv, wv, xv in sv * ((gv * wv - a) - ((xv - mv) * sv) * c) }
                    } else {
                        NormKernels.rowMap(gr, xr, dr, count: d) { gv, xv in sv * ((gv - a) - ((xv - mv) * sv) * c) }
                    }
                }
            }
            grads[0] = gx
        }
        if let weight {
            grads.append(weight.needsGrad ? NormKernels.columnSums(rows: rows, width: d) { r, acc in
                let mv = NormKernels.V(repeating: meansSaved[r]), sv = NormKernels.V(repeating: rstdSaved[r])
                NormKernels.accumulate(acc, gp + r * d, xp + r * d, count: d) { gv, xv in gv * ((xv - mv) * sv) }
            } : nil)
        }
        if let bias {
            grads.append(bias.needsGrad ? NormKernels.columnSums(rows: rows, width: d) { r, acc in
                NormKernels.accumulate(acc, gp + r * d, gp + r * d, count: d) { gv, _ in gv }
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
    static func rowMap(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ d: UnsafeMutablePointer<Float>,
                       count n: Int, _ f: (V, V) -> V) {
        SoftmaxKernels.rowMap(a, b, d, count: n, f)
    }

    @inline(__always)
    static func rowMap3(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafePointer<Float>,
                        _ d: UnsafeMutablePointer<Float>, count n: Int, _ f: (V, V, V) -> V) {
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
    static func accumulate(_ acc: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                           count n: Int, _ f: (V, V) -> V) {
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

    /// A [width] tensor summing `addRow(r, acc)` over all rows: rows are split into a fixed number of
    /// blocks (one per thread), each block accumulates into its own buffer, the buffers are added in order.
    static func columnSums(rows: Int, width: Int,
                           _ addRow: (Int, UnsafeMutablePointer<Float>) -> Void) -> Tensor {
        let blocks = Swift.max(1, Swift.min(Threads.count, rows * width / 16_384))
        let per = (rows + blocks - 1) / Swift.max(blocks, 1)
        let partial = Tensor.zeros([blocks, width])
        let pp = partial.mutablePointer
        Threads.parallelFor(blocks, minChunk: 1) { range in
            for b in range {
                for r in (b * per)..<Swift.min(rows, (b + 1) * per) { addRow(r, pp + b * width) }
            }
        }
        let out = Tensor.zeros([width])
        for b in 0..<blocks { Kernels.addInPlace(out.mutablePointer, pp + b * width, count: width) }
        return out
    }
}
