import Foundation

/// Raw SIMD loops over contiguous Float buffers. Ops build on these; no autograd here.
public enum Kernels {
    public typealias V = SIMD16<Float>

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, _ i: Int) -> V {
        UnsafeRawPointer(p + i).loadUnaligned(as: V.self)
    }

    @inline(__always)
    static func store(_ v: V, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
        UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: V.self)
    }

    /// out[i] = f(a[i], b[i]) with a SIMD body and a scalar tail, chunked across threads. The closures
    /// usually stay out-of-line calls per 16 elements; hot code uses the `SIMDBinaryFunction` form.
    @inline(__always)
    public static func binary(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                              count: Int, simd: (V, V) -> V, scalar: (Float, Float) -> Float) {
        Threads.parallelFor(count, minChunk: 1 << 16) { r in
            var i = r.lowerBound
            while i + 16 <= r.upperBound { store(simd(load(a, i), load(b, i)), out, i); i += 16 }
            while i < r.upperBound { out[i] = scalar(a[i], b[i]); i += 1 }
        }
    }

    /// out[i] = f(a[i]) with a SIMD body and a scalar tail.
    @inline(__always)
    public static func unary(_ a: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count: Int,
                             simd: (V) -> V, scalar: (Float) -> Float) {
        Threads.parallelFor(count, minChunk: 1 << 16) { r in
            var i = r.lowerBound
            while i + 16 <= r.upperBound { store(simd(load(a, i)), out, i); i += 16 }
            while i < r.upperBound { out[i] = scalar(a[i]); i += 1 }
        }
    }

    /// Elementwise map with a scalar function only (transcendentals), chunked across threads.
    @inline(__always)
    public static func map(_ a: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count: Int,
                           _ f: (Float) -> Float) {
        Threads.parallelFor(count, minChunk: 1 << 14) { r in
            for i in r { out[i] = f(a[i]) }
        }
    }

    /// out[i] = f(a[i], b[i]), chunked across threads. Prefer this to the closure form in hot code:
    /// specialised on the struct `F`, the body is inlined into the loop.
    @inline(__always)
    public static func binary<F: SIMDBinaryFunction>(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                                                     _ out: UnsafeMutablePointer<Float>, count: Int, _ f: F) {
        Threads.parallelFor(count, minChunk: elementwiseChunk) { r in binaryRange(a, b, out, r, f) }
    }

    /// out[i] = f(a[i]), chunked across threads (see the binary form).
    @inline(__always)
    public static func unary<F: SIMDUnaryFunction>(_ a: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                                                   count: Int, _ f: F) {
        Threads.parallelFor(count, minChunk: elementwiseChunk) { r in unaryRange(a, out, r, f) }
    }

    /// Elements per thread chunk for memory-bound loops: below this, waking a second thread costs more
    /// than it saves (measured in Docs/Performance.md, "Kernels").
    static let elementwiseChunk = 1 << 16

    @inline(never)
    static func binaryRange<F: SIMDBinaryFunction>(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                                                   _ out: UnsafeMutablePointer<Float>, _ r: Range<Int>, _ f: F) {
        var i = r.lowerBound
        while i + 16 <= r.upperBound { store(f(load(a, i), load(b, i)), out, i); i += 16 }
        while i < r.upperBound { out[i] = f(a[i], b[i]); i += 1 }
    }

    @inline(never)
    static func unaryRange<F: SIMDUnaryFunction>(_ a: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                                                 _ r: Range<Int>, _ f: F) {
        var i = r.lowerBound
        while i + 16 <= r.upperBound { store(f(load(a, i)), out, i); i += 16 }
        while i < r.upperBound { out[i] = f(a[i]); i += 1 }
    }

    public static func addInPlace(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, count: Int) {
        binary(UnsafePointer(dst), src, dst, count: count, SIMDFunctions.Add())
    }

    public static func scaleInPlace(_ dst: UnsafeMutablePointer<Float>, _ s: Float, count: Int) {
        unary(UnsafePointer(dst), dst, count: count, SIMDFunctions.Scale(s))
    }

    /// Sum in Double of a contiguous range (accurate reductions for norms and losses).
    public static func sumDouble(_ a: UnsafePointer<Float>, count: Int) -> Double {
        var acc = SIMD8<Double>()
        var i = 0
        while i + 8 <= count {
            let v = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self)
            acc += SIMD8<Double>(v)
            i += 8
        }
        var s = acc.sum()
        while i < count { s += Double(a[i]); i += 1 }
        return s
    }

    /// Sum of squares in Double across the pool: fixed blocks of `sumSquaresBlock` values summed in
    /// parallel, their sums added in order, so the result does not depend on the thread count.
    /// (Gradient clipping reads all 26 M gradients of a step this way; one thread took 7 % of a
    /// small-batch step.)
    public static func parallelSumSquaresDouble(_ a: UnsafePointer<Float>, count: Int) -> Double {
        let blocks = (count + sumSquaresBlock - 1) / sumSquaresBlock
        if blocks <= 1 { return sumSquaresDouble(a, count: count) }
        var sums = [Double](repeating: 0, count: blocks)
        sums.withUnsafeMutableBufferPointer { out in
            let o = out.baseAddress!
            Threads.parallelFor(blocks, minChunk: 1) { r in
                for b in r {
                    let start = b * sumSquaresBlock
                    o[b] = sumSquaresDouble(a + start, count: Swift.min(sumSquaresBlock, count - start))
                }
            }
        }
        return sums.reduce(0, +)
    }

    static let sumSquaresBlock = 1 << 16

    /// Sum of squares in Double.
    public static func sumSquaresDouble(_ a: UnsafePointer<Float>, count: Int) -> Double {
        var acc = SIMD8<Double>()
        var i = 0
        while i + 8 <= count {
            let v = SIMD8<Double>(UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self))
            acc += v * v
            i += 8
        }
        var s = acc.sum()
        while i < count { let x = Double(a[i]); s += x * x; i += 1 }
        return s
    }

    /// Float dot product with SIMD16 accumulators.
    @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var acc = V()
        var i = 0
        while i + 16 <= count { acc += load(a, i) * load(b, i); i += 16 }
        var s = acc.sum()
        while i < count { s += a[i] * b[i]; i += 1 }
        return s
    }
}
