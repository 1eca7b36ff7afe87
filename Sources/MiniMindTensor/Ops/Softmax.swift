import Foundation

// Softmax and log-softmax over one axis. The row kernels work on the last axis; another axis is
// moved last and back (autograd handles the transposes).
//
// Exact at extreme inputs: the row maximum is subtracted before exp, so logits of ±1e30 are fine.
// Masked entries (−inf) get probability 0. A row that is entirely −inf is defined as all zeros for
// softmax (all −inf for log-softmax), with zero gradient, instead of PyTorch's NaN.

/// softmax(x)ᵢ = exp(xᵢ − max) / Σ exp(xⱼ − max) along `axis`.
public func softmax(_ x: Tensor, axis: Int = -1) -> Tensor {
    let a = x.normalizedAxis(axis)
    if a != x.rank - 1 { return softmax(x.transposed(a, -1), axis: -1).transposed(a, -1) }
    let n = x.shape.last ?? 1, rows = n == 0 ? 0 : x.count / n
    let out = Tensor.uninitialized(x.shape)
    let xp = x.pointer, op = out.mutablePointer
    Threads.parallelFor(rows, minChunk: SoftmaxKernels.rowChunk(n)) { range in
        for r in range { SoftmaxKernels.softmaxRow(xp + r * n, op + r * n, count: n) }
    }
    return Tensor.record("softmax", output: out, inputs: [x]) { g in
        // dx = y ⊙ (g − Σ g⊙y); rows of zeros (fully masked) give zero gradient automatically.
        let gx = Tensor.uninitialized(x.shape)
        let yp = out.pointer, gp = g.pointer, dp = gx.mutablePointer
        Threads.parallelFor(rows, minChunk: SoftmaxKernels.rowChunk(n)) { range in
            for r in range {
                SoftmaxKernels.softmaxBackwardRow(yp + r * n, gp + r * n, dp + r * n, count: n)
            }
        }
        return [gx]
    }
}

/// log-softmax(x)ᵢ = (xᵢ − max) − log Σ exp(xⱼ − max) along `axis`.
public func logSoftmax(_ x: Tensor, axis: Int = -1) -> Tensor {
    let a = x.normalizedAxis(axis)
    if a != x.rank - 1 { return logSoftmax(x.transposed(a, -1), axis: -1).transposed(a, -1) }
    let n = x.shape.last ?? 1, rows = n == 0 ? 0 : x.count / n
    let out = Tensor.uninitialized(x.shape)
    let xp = x.pointer, op = out.mutablePointer
    Threads.parallelFor(rows, minChunk: SoftmaxKernels.rowChunk(n)) { range in
        for r in range { SoftmaxKernels.logSoftmaxRow(xp + r * n, op + r * n, count: n) }
    }
    return Tensor.record("logSoftmax", output: out, inputs: [x]) { g in
        // dx = g − exp(y) · Σ g; a fully masked row (all −inf) has zero gradient by definition.
        let gx = Tensor.uninitialized(x.shape)
        let yp = out.pointer, gp = g.pointer, dp = gx.mutablePointer
        Threads.parallelFor(rows, minChunk: SoftmaxKernels.rowChunk(n)) { range in
            for r in range {
                SoftmaxKernels.logSoftmaxBackwardRow(yp + r * n, gp + r * n, dp + r * n, count: n)
            }
        }
        return [gx]
    }
}

/// Row kernels shared by softmax, log-softmax and cross-entropy.
enum SoftmaxKernels {
    typealias V = VectorMath.V

    /// Rows per parallel chunk so that each chunk holds at least ~16K elements.
    @inline(__always)
    static func rowChunk(_ rowLength: Int) -> Int { Swift.max(1, 16_384 / Swift.max(rowLength, 1)) }

    /// d[i] = f(a[i], b[i]) over one row, SIMD with a padded tail.
    @inline(__always)
    static func rowMap<F: SIMDRowFunction2>(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                                            _ d: UnsafeMutablePointer<Float>, count n: Int, _ f: F) {
        var i = 0
        while i + 16 <= n { VectorMath.store(f(VectorMath.load(a, i), VectorMath.load(b, i)), d, i); i += 16 }
        if i < n {
            let v = f(VectorMath.loadPartial(a, i, count: n - i, fill: 0), VectorMath.loadPartial(b, i, count: n - i, fill: 0))
            VectorMath.storePartial(v, d, i, count: n - i)
        }
    }

    // Row kernels are @inline(never): small functions into which the SIMD helpers are reliably inlined.

    /// y = softmax(x) for one row; writes exp(x − max) first, then scales it while it is in cache.
    @inline(never)
    static func softmaxRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int) {
        let m = VectorMath.rowMax(x, count: n)
        if m == -.infinity { y.update(repeating: 0, count: n); return }
        let sum = expShiftedRow(x, y, count: n, shift: m)
        scaleRow(y, count: n, by: 1 / sum)
    }

    /// d = y ⊙ (g − Σ g⊙y) for one row.
    @inline(never)
    static func softmaxBackwardRow(_ y: UnsafePointer<Float>, _ g: UnsafePointer<Float>, _ d: UnsafeMutablePointer<Float>, count n: Int) {
        let s = V(repeating: Kernels.dot(y, g, count: n))
        rowMap(y, g, d, count: n, SoftmaxGradient(s: s))
    }

    /// d = g − exp(y)·Σ g for one row; zero for a fully masked row (all −inf).
    @inline(never)
    static func logSoftmaxBackwardRow(_ y: UnsafePointer<Float>, _ g: UnsafePointer<Float>, _ d: UnsafeMutablePointer<Float>, count n: Int) {
        if n > 0 && VectorMath.rowMax(y, count: n) == -.infinity { d.update(repeating: 0, count: n); return }
        let s = V(repeating: Float(Kernels.sumDouble(g, count: n)))
        rowMap(y, g, d, count: n, LogSoftmaxGradient(s: s))
    }

    /// y = log-softmax(x) for one row.
    @inline(never)
    static func logSoftmaxRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int) {
        let m = VectorMath.rowMax(x, count: n)
        if m == -.infinity { y.update(repeating: -.infinity, count: n); return }
        let logSum = Foundation.log(VectorMath.rowSumExp(x, count: n, shift: m))
        // (x − m) − log Σ keeps the small difference exact when |x| is large.
        let mv = V(repeating: m), lv = V(repeating: logSum)
        var i = 0
        while i + 16 <= n { VectorMath.store((VectorMath.load(x, i) - mv) - lv, y, i); i += 16 }
        while i < n { y[i] = (x[i] - m) - logSum; i += 1 }
    }

    /// y[i] = exp(x[i] − shift) for shift ≥ max(x); returns Σ y[i].
    @inline(__always)
    static func expShiftedRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                              count n: Int, shift: Float) -> Float {
        let s = V(repeating: shift)
        var acc = V()
        var i = 0
        while i + 16 <= n {
            let e = VectorMath.expNonPositive(VectorMath.load(x, i) - s)
            VectorMath.store(e, y, i)
            acc += e
            i += 16
        }
        if i < n {
            let e = VectorMath.expNonPositive(VectorMath.loadPartial(x, i, count: n - i, fill: -.infinity) - s)
            VectorMath.storePartial(e, y, i, count: n - i)
            acc += e
        }
        return acc.sum()
    }

    @inline(__always)
    static func scaleRow(_ y: UnsafeMutablePointer<Float>, count n: Int, by k: Float) {
        let kv = V(repeating: k)
        var i = 0
        while i + 16 <= n { VectorMath.store(VectorMath.load(y, i) * kv, y, i); i += 16 }
        while i < n { y[i] *= k; i += 1 }
    }
}

// Elementwise bodies as structs, not closures: the generic row loop inlines them (a closure stayed
// an out-of-line call per 16 elements).
extension SoftmaxKernels {
    /// y·(g − s)
    struct SoftmaxGradient: SIMDRowFunction2 {
        let s: V
        @inline(__always) func callAsFunction(_ y: V, _ g: V) -> V { y * (g - s) }
    }
    /// g − exp(y)·s
    struct LogSoftmaxGradient: SIMDRowFunction2 {
        let s: V
        @inline(__always) func callAsFunction(_ y: V, _ g: V) -> V { g - VectorMath.expNonPositive(y) * s }
    }
}
